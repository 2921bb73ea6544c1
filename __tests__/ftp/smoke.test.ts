import { startFtp, transfer, type FtpHarness } from './helpers/ftp-harness';

let h: FtpHarness;
beforeAll(async () => { h = await startFtp(); await h.put('a.txt', 'hello\nworld\n'); });
afterAll(async () => h.stop());

it('smoke', async () => {
  const c = await h.connect();
  console.log(c.greeting);
  console.log(await c.cmd('USER bob'));
  console.log(await c.cmd('PASS x'));
  console.log(await c.cmd('PWD'));
  console.log(await c.cmd('FEAT'));
  console.log(await c.cmd('SIZE a.txt'));
  const r = await transfer(c, 'RETR a.txt');
  console.log(r.preliminary, r.final, r.data.toString());
  const l = await transfer(c, 'LIST');
  console.log(l.final, l.data.toString());
  const m = await transfer(c, 'MLSD');
  console.log(m.final, m.data.toString());
  const s = await transfer(c, 'STOR b.txt', 'uploaded');
  console.log(s.final, (await h.read('b.txt')).toString());
  console.log(await c.cmd('QUIT'));
  await c.waitClosed();
  console.log(h.log.lines.map(l => `${l.level} [${l.label}] ${l.message}`).join('\n'));
});
