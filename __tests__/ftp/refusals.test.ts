/**
 * What a hostile FTP client would try, byte for byte: bouncing data
 * connections to a third party (PORT/EPRT to another address or a
 * privileged port), stealing a passive port from another address, climbing
 * out of the root through every path-taking command, following symlinks
 * out of the root, and filling the passive range. Each refusal is a clear
 * FTP reply, and nothing outside the root is ever read, written or removed.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { dataConnect, readAll, startFtp, transfer, type FtpControl, type FtpHarness } from './helpers/ftp-harness';

const SECRET = 'outside the root';

/** Every file under `dir` with its content: what "untouched" is checked against. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = entry.isFile() ? await fs.readFile(full, 'utf8') : '<dir>';
  }
  return out;
}

/** A port nothing listens on right now (for a one-port passive range). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let h: FtpHarness;
let c: FtpControl;
let outsideBefore: Record<string, string>;

beforeAll(async () => {
  h = await startFtp({
    prepare: async ({ root, outside }) => {
      await fs.writeFile(path.join(outside, 'secret.txt'), SECRET);
      await fs.mkdir(path.join(outside, 'sub'));
      await fs.writeFile(path.join(root, 'inside.txt'), 'inside');
      // Symlinks that lead out of the root: to a folder and to a file.
      await fs.symlink(outside, path.join(root, 'link-dir'));
      await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'link-file'));
    },
  });
  outsideBefore = await snapshot(h.outside);
});
afterAll(async () => h.stop());
beforeEach(async () => {
  c = await h.login();
});
afterEach(async () => {
  c.close();
  // Whatever a test tried, the folder beside the root is as it was.
  expect(await snapshot(h.outside)).toEqual(outsideBefore);
});

describe('FTP bounce (RFC 2577)', () => {
  it('refuses PORT and EPRT to another address with 501, and connects nowhere', async () => {
    const bystander = net.createServer();
    let contacted = false;
    bystander.on('connection', (socket) => {
      contacted = true;
      socket.destroy();
    });
    await new Promise<void>((resolve) => bystander.listen(0, '127.0.0.2', resolve));
    const { port } = bystander.address() as net.AddressInfo;
    const p1 = Math.floor(port / 256);
    const p2 = port % 256;
    expect((await c.cmd(`PORT 127,0,0,2,${p1},${p2}`)).raw).toBe(
      `501 PORT refused: 127.0.0.2:${port} is not your own address (FTP bounce protection)\r\n`,
    );
    expect((await c.cmd(`EPRT |1|127.0.0.2|${port}|`)).raw).toBe(
      `501 EPRT refused: 127.0.0.2:${port} is not your own address (FTP bounce protection)\r\n`,
    );
    expect((await c.cmd('EPRT |2|::1|2000|')).raw).toBe('501 EPRT refused: ::1:2000 is not your own address (FTP bounce protection)\r\n');
    // Nothing was set up: the transfer command has no data connection to use.
    expect((await c.cmd('RETR inside.txt')).raw).toBe('425 Use PASV, EPSV, PORT or EPRT first\r\n');
    bystander.close();
    expect(contacted).toBe(false);
    expect(h.log.lines.some((l) => l.level === 'WARNING' && l.message.includes('not your own address'))).toBe(true);
  });

  it('refuses PORT and EPRT to a port below 1024 of the client itself', async () => {
    expect((await c.cmd('PORT 127,0,0,1,0,25')).raw).toBe('501 PORT refused: 127.0.0.1:25 is a port below 1024 (FTP bounce protection)\r\n');
    expect((await c.cmd('EPRT |1|127.0.0.1|1023|')).raw).toBe('501 EPRT refused: 127.0.0.1:1023 is a port below 1024 (FTP bounce protection)\r\n');
    expect((await c.cmd('PORT 127,0,0,1,4,0')).code).toBe(200);
  });

  it('refuses an address spelled in another way (IPv4-mapped, out-of-range numbers)', async () => {
    expect((await c.cmd('EPRT |2|::ffff:127.0.0.2|2000|')).code).toBe(501);
    expect((await c.cmd('PORT 127,0,0,256,8,0')).raw).toBe('501 PORT needs h1,h2,h3,h4,p1,p2 (six numbers 0-255)\r\n');
    expect((await c.cmd('PORT 127,0,0,1,300,0')).code).toBe(501);
  });
});

describe('passive port stealing (RFC 2577 §5)', () => {
  it('closes a data connection from another address unread, logs a WARNING, and still serves the client', async () => {
    const port = await c.passive('EPSV');
    const thief = await dataConnect(port, { localAddress: '127.0.0.2' });
    const stolen = await readAll(thief).then(
      (bytes) => bytes,
      () => Buffer.alloc(0),
    );
    expect(stolen.length).toBe(0);
    const own = await dataConnect(port);
    const reading = readAll(own);
    expect((await c.cmd('RETR inside.txt')).code).toBe(150);
    expect((await reading).toString()).toBe('inside');
    expect((await c.read()).raw).toBe('226 Transfer complete\r\n');
    expect(
      h.log.lines.some((l) => l.level === 'WARNING' && /^Refused a data connection from 127\.0\.0\.2:\d+: not the control connection's address 127\.0\.0\.1$/.test(l.message)),
    ).toBe(true);
  });

  it('a stranger on the passive port cannot upload either', async () => {
    const port = await c.passive('EPSV');
    const thief = await dataConnect(port, { localAddress: '127.0.0.2' });
    thief.on('error', () => undefined);
    thief.write('injected');
    const own = await dataConnect(port);
    c.send('STOR upload.txt');
    expect((await c.read()).code).toBe(150);
    own.end('mine');
    expect((await c.read()).raw).toBe('226 Transfer complete\r\n');
    expect((await h.read('upload.txt')).toString()).toBe('mine');
    thief.destroy();
  });
});

describe('path escapes', () => {
  const escapes = ['../outside/secret.txt', '/../outside/secret.txt', '../../../../outside/secret.txt', '~/../outside/secret.txt', 'a/../../outside/secret.txt'];

  it.each(escapes)('%s stays inside the root for every reading command', async (escape) => {
    expect((await c.cmd(`SIZE ${escape}`)).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd(`MDTM ${escape}`)).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd(`MLST ${escape}`)).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd(`HASH ${escape}`)).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd(`RNFR ${escape}`)).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd(`STAT ${escape}`)).code).toBe(550);
    const retr = await transfer(c, `RETR ${escape}`);
    expect(retr.final.raw).toBe('550 No such file or directory\r\n');
    expect(retr.data.length).toBe(0);
  });

  it('CWD and CDUP above the root stay at the root', async () => {
    expect((await c.cmd('CWD ..')).code).toBe(250);
    expect((await c.cmd('PWD')).raw).toBe('257 "/" is the current directory\r\n');
    expect((await c.cmd('CDUP')).code).toBe(250);
    expect((await c.cmd('CWD ../outside')).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd('PWD')).raw).toBe('257 "/" is the current directory\r\n');
    const list = await transfer(c, 'LIST ../..');
    expect(list.final.code).toBe(226);
    expect(list.data.toString()).not.toContain('secret');
    expect(list.data.toString()).toContain('inside.txt');
    const nlst = await transfer(c, 'NLST ../outside');
    expect(nlst.final.code).toBe(550);
    const mlsd = await transfer(c, 'MLSD ../outside');
    expect(mlsd.final.code).toBe(550);
  });

  it('writing commands cannot create, append, rename or remove anything outside', async () => {
    expect((await transfer(c, 'STOR ../outside/new.txt', 'x')).final.raw).toBe('553 Could not create file: the folder does not exist\r\n');
    expect((await transfer(c, 'APPE ../outside/secret.txt', 'x')).final.code).toBe(553);
    expect((await c.cmd('MKD ../outside/made')).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd('DELE ../outside/secret.txt')).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd('RMD ../outside/sub')).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd('MFMT 20200101000000 ../outside/secret.txt')).raw).toBe('550 No such file or directory\r\n');
    expect((await c.cmd('RNFR inside.txt')).code).toBe(350);
    expect((await c.cmd('RNTO ../outside/moved.txt')).raw).toBe('550 No such file or directory\r\n');
    expect((await h.read('inside.txt')).toString()).toBe('inside');
    // MKD above the root lands at the root: a folder named like the escape target, inside.
    expect((await c.cmd('MKD ../made-inside')).raw).toBe('257 "/made-inside" created\r\n');
    expect((await fs.stat(path.join(h.root, 'made-inside'))).isDirectory()).toBe(true);
  });

  it('refuses names the storage forbids (backslash, NUL) with a clear 5xx', async () => {
    const reply = await c.cmd('SIZE ..\\outside\\secret.txt');
    expect(reply.code).toBeGreaterThanOrEqual(500);
    expect(reply.text).not.toContain(h.outside);
    const nul = await c.cmd('STAT inside.txt\u0000x');
    expect(nul.code).toBeGreaterThanOrEqual(500);
  });
});

describe('symlinks out of the root', () => {
  it('are not followed by reading commands', async () => {
    for (const line of ['SIZE link-file', 'MDTM link-file', 'HASH link-file', 'MLST link-dir/secret.txt', 'SIZE link-dir/secret.txt']) {
      const reply = await c.cmd(line);
      expect({ line, code: reply.code }).toEqual({ line, code: 550 });
      expect(reply.raw).not.toContain(h.outside);
    }
    expect((await c.cmd('CWD link-dir')).code).toBe(550);
    expect((await c.cmd('PWD')).raw).toBe('257 "/" is the current directory\r\n');
    const retr = await transfer(c, 'RETR link-file');
    expect(retr.final.code).toBe(550);
    expect(retr.data.toString()).not.toContain(SECRET);
    const list = await transfer(c, 'LIST link-dir');
    expect(list.final.code).toBe(550);
    expect(list.data.toString()).not.toContain('secret');
  });

  it('are not followed by writing commands', async () => {
    // 550 (not available) or 553 (name not allowed), as RFC 959 gives them; never a 2xx.
    const refusals: Array<[string, number]> = [
      ['STOR link-dir/new.txt', (await transfer(c, 'STOR link-dir/new.txt', 'x')).final.code],
      ['APPE link-file', (await transfer(c, 'APPE link-file', 'appended')).final.code],
      ['STOR link-file', (await transfer(c, 'STOR link-file', 'replaced')).final.code],
    ];
    for (const line of ['MKD link-dir/made', 'RMD link-dir/sub', 'DELE link-dir/secret.txt', 'RNFR link-dir/secret.txt', 'MFMT 20200101000000 link-file']) {
      refusals.push([line, (await c.cmd(line)).code]);
    }
    for (const [line, code] of refusals) expect({ line, refused: code === 550 || code === 553 }).toEqual({ line, refused: true });
  });
});

describe('a client that never reads its replies', () => {
  it('is no longer read once its unread replies pass the bound', async () => {
    expect((await c.cmd('HELP')).code).toBe(214);
    c.socket.pause();
    const chunk = Buffer.from('HELP\r\n'.repeat(1024));
    const maxBytes = 64 * 1024 * 1024;
    let written = 0;
    // Pipeline HELP (about 300 bytes of reply per 6 bytes sent) until the server stops taking
    // bytes: no 'drain' for a second. A server without the bound would read all 64 MiB and
    // queue some 3 GiB of replies; the loop ends either way.
    for (;;) {
      const more = c.socket.write(chunk);
      written += chunk.length;
      if (written >= maxBytes) break;
      if (more) continue;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => c.socket.once('drain', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000)),
      ]);
      if (!drained) break;
    }
    expect(written).toBeLessThan(maxBytes);
    // What ran is what the kernel's buffers and the reply bound hold: a small part of what was sent.
    const ran = h.log.lines.filter((l) => l.message === 'Command: HELP').length;
    expect(ran).toBeLessThan(written / 6 / 4);
    c.close();
    // The session ends when the client goes; the server serves the next one.
    const next = await h.login();
    expect((await next.cmd('NOOP')).code).toBe(200);
    next.close();
  }, 60_000);
});

describe('a small passive range and no active mode', () => {
  let strict: FtpHarness;
  let pasvPort: number;
  beforeAll(async () => {
    pasvPort = await freePort();
    strict = await startFtp({ pasvPorts: { min: pasvPort, max: pasvPort }, activeAllowed: false });
  });
  afterAll(async () => strict.stop());

  it('answers 425 while the range is full, and serves again once the port is free', async () => {
    const first = await strict.login();
    const second = await strict.login();
    expect((await first.cmd('EPSV')).raw).toBe(`229 Entering Extended Passive Mode (|||${pasvPort}|)\r\n`);
    expect((await second.cmd('EPSV')).raw).toBe(`425 No passive port free in ${pasvPort}-${pasvPort}; try again later\r\n`);
    expect((await second.cmd('PASV')).code).toBe(425);
    expect(strict.ftp.passivePortsInUse).toBe(1);
    // The holder gives the port back (ABOR closes its listener): the other gets it.
    expect((await first.cmd('ABOR')).code).toBe(226);
    expect((await second.cmd('EPSV')).raw).toBe(`229 Entering Extended Passive Mode (|||${pasvPort}|)\r\n`);
    // A transfer frees it too, as soon as its one connection is accepted.
    const data = await dataConnect(pasvPort);
    const reading = readAll(data);
    expect((await second.cmd('LIST')).code).toBe(150);
    await reading;
    expect((await second.read()).code).toBe(226);
    expect((await first.cmd('EPSV')).code).toBe(229);
    first.close();
    second.close();
  });

  it('refuses PORT and EPRT with 502 when active mode is off', async () => {
    const control = await strict.login();
    expect((await control.cmd('PORT 127,0,0,1,200,10')).raw).toBe('502 Active mode is off on this server: use PASV or EPSV\r\n');
    expect((await control.cmd('EPRT |1|127.0.0.1|51210|')).raw).toBe('502 Active mode is off on this server: use PASV or EPSV\r\n');
    control.close();
  });
});
