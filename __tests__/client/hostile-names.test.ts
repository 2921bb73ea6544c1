import fs from 'node:fs/promises';
import path from 'node:path';
import { main } from '../../src/cli/client-cli';
import { FtpClient } from '../../src/client/ftp-client';
import { complete } from '../../src/client/shell/completer';
import { ClientSession } from '../../src/client/shell/session';
import { tokenize } from '../../src/client/shell/tokenize';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { Collector, fakeIo, fakeServer, startServer, TERMINAL_UNSAFE, type TestServer } from './helpers';

/**
 * Issue 10, finding 7: another user uploads a file whose name is terminal
 * escape sequences; nothing the client prints may carry them raw.
 */

/** Retitles the window, clears the screen, homes the cursor, then reverses the rest. */
const HOSTILE = '\u001b]0;owned\u0007\u001b[2J\u001b[Hreport\u202e.pdf';
const HOSTILE_SHOWN = '\\x1b]0;owned\\x07\\x1b[2J\\x1b[Hreport\\u202e.pdf';
/** A newline in a name fakes an extra line of output. */
const FAKE_LINE = 'notes.txt\nfile  1 B  2020-01-01 00:00  passwords.txt';
const DIR = '\u009b2Jdir';
const CONTENT = 'attacker bytes\n';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer();
  // Uploaded over the wire by "another user", as the attack does it.
  const uploader = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
  const source = path.join(srv.local, '..', 'payload.txt');
  await fs.writeFile(source, CONTENT);
  await uploader.upload(source, HOSTILE);
  await uploader.upload(source, FAKE_LINE);
  await uploader.mkdir(DIR);
  await uploader.upload(source, `${DIR}/inner.txt`);
  await uploader.quit();
  expect((await fs.readdir(srv.root)).sort()).toEqual([HOSTILE, FAKE_LINE, DIR].sort());
});

afterAll(async () => {
  await srv.close();
});

beforeEach(async () => {
  for (const name of await fs.readdir(srv.local)) await fs.rm(path.join(srv.local, name), { recursive: true });
});

async function run(args: string[], port = srv.port, script: string | null = null) {
  const { io, stdout, stderr } = fakeIo(script, srv.local);
  const code = await main(['--port', String(port), '--dir', srv.local, ...args], io);
  return { code, out: stdout.text, err: stderr.text };
}

function expectSafe(...texts: string[]): void {
  for (const text of texts) expect(text).not.toMatch(TERMINAL_UNSAFE);
}

test('ls, ls -l and stat show the names escaped, one line per entry', async () => {
  const ls = await run(['ls']);
  expectSafe(ls.out, ls.err);
  // Code-point order: ESC, then 'n', then U+009B.
  expect(ls.out.split('\n')).toEqual([
    HOSTILE_SHOWN, 'notes.txt\\x0afile  1 B  2020-01-01 00:00  passwords.txt', '\\x9b2Jdir/', '',
  ]);
  expect(ls.code).toBe(0);

  const long = await run(['ls', '-l']);
  expectSafe(long.out, long.err);
  expect(long.out.split('\n')).toHaveLength(5);
  expect(long.out).toContain(`  ${HOSTILE_SHOWN}\n`);

  const stat = await run(['stat', HOSTILE]);
  expectSafe(stat.out, stat.err);
  expect(stat.out).toContain(`name:  ${HOSTILE_SHOWN}\n`);
  expect(stat.out).toContain(`path:  /${HOSTILE_SHOWN}\n`);
});

test('--json escapes what JSON.stringify would leave raw, and still parses to the real names', async () => {
  const ls = await run(['--json', 'ls']);
  expectSafe(ls.out, ls.err);
  expect(ls.out).toContain('report\\u202e.pdf');
  const names = (JSON.parse(ls.out) as { files: Array<{ name: string }> }).files.map((f) => f.name);
  expect(names.sort()).toEqual([HOSTILE, FAKE_LINE, DIR].sort());
  const stat = await run(['--json', 'stat', `${DIR}/inner.txt`]);
  expectSafe(stat.out, stat.err);
  expect(JSON.parse(stat.out)).toMatchObject({ path: `/${DIR}/inner.txt`, file: { name: 'inner.txt' } });
});

test('get: the name is refused as a local file name, errors are escaped, and a chosen local name works', async () => {
  const refused = await run(['get', HOSTILE]);
  expectSafe(refused.out, refused.err);
  expect(refused).toMatchObject({ code: 7, out: '' });
  expect(refused.err).toBe(`get: refusing unsafe local file name "${HOSTILE_SHOWN}": contains a control character\n`);

  const missing = await run(['get', `${DIR}/${HOSTILE}`, 'out.pdf']);
  expectSafe(missing.out, missing.err);
  expect(missing.code).toBe(4);
  expect(missing.err).toBe(`get: \\x9b2Jdir/${HOSTILE_SHOWN}: Not found (404)\n`);

  const chosen = await run(['get', HOSTILE, 'report.pdf']);
  expectSafe(chosen.out, chosen.err);
  expect(chosen.code).toBe(0);
  expect(chosen.out).toMatch(new RegExp(`^/${HOSTILE_SHOWN.replace(/[\\[\]]/g, '\\$&')} -> report\\.pdf: 15 B in `));
  expect(await fs.readFile(path.join(srv.local, 'report.pdf'), 'utf8')).toBe(CONTENT);
  expect(await fs.readdir(srv.local)).toEqual(['report.pdf']);
});

test('the shell over a pipe: listings, stat, get by the escaped name, mget', async () => {
  const script = ['ls', 'ls -l', `stat ${HOSTILE_SHOWN}`, `get ${HOSTILE_SHOWN}`, `get ${HOSTILE_SHOWN} copy.pdf`, 'mget *', 'quit'].join('\n');
  const { code, out, err } = await run([], srv.port, `${script}\n`);
  expectSafe(out, err);
  expect(out).toContain(`name:  ${HOSTILE_SHOWN}\n`);
  expect(out).toMatch(/ -> copy\.pdf: 15 B in /);
  expect(err).toContain(`get: refusing unsafe local file name "${HOSTILE_SHOWN}": contains a control character\n`);
  expect(err).toContain(`mget: skipping unsafe name from the server "${HOSTILE_SHOWN}": contains a control character\n`);
  expect(err).toContain('mget: skipping unsafe name from the server "notes.txt\\x0afile  1 B  2020-01-01 00:00  passwords.txt": contains a control character\n');
  expect(code).toBe(7);
  // Nothing with a control character in its name was written locally.
  expect(await fs.readdir(srv.local)).toEqual(['copy.pdf']);
});

test('Tab completion offers the name escaped, and the completed word reads back as the real name', async () => {
  const session = new ClientSession({
    host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, localDir: srv.local,
    stdout: new Collector(), stderr: new Collector(), progress: false, json: false,
  });
  try {
    const [candidates, replaced] = await complete(session, 'get \\x1b');
    expect(replaced).toBe('\\x1b');
    expect(candidates).toEqual([`${HOSTILE_SHOWN} `]);
    expect(tokenize(`get ${candidates[0]}`).words).toEqual(['get', HOSTILE]);
    const all = (await complete(session, 'get '))[0];
    expect(all).toHaveLength(3);
    for (const c of all) expectSafe(c);
  } finally {
    await session.close();
  }
});

test('text a hostile server writes itself (refusal greeting, error messages) is escaped too', async () => {
  const refusing = await fakeServer({ greeting: { type: 'connection', code: 503, message: `busy${HOSTILE}` } });
  const chatty = await fakeServer({
    onCommand: (_cmd, socket) => socket.write(encodeFrame({ type: 'response', code: 500, message: `oops\n${HOSTILE}` })),
  });
  try {
    const refused = await run(['ls'], refusing.port);
    expectSafe(refused.out, refused.err);
    expect(refused.err).toBe(`ls: server refused the connection: busy${HOSTILE_SHOWN} (503)\n`);
    const failed = await run(['stat', 'x'], chatty.port);
    expectSafe(failed.out, failed.err);
    expect(failed.err).toBe(`stat: x: oops\\x0a${HOSTILE_SHOWN} (500)\n`);
    const shell = await run([], chatty.port, 'ls\nrm a\n');
    expectSafe(shell.out, shell.err);
    expect(shell.err.split('\n')).toHaveLength(3);
  } finally {
    await refusing.close();
    await chatty.close();
  }
});
