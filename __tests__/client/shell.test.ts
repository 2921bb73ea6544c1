import fs from 'node:fs/promises';
import path from 'node:path';
import { main } from '../../src/cli/client-cli';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { ClientSession } from '../../src/client/shell/session';
import { runCommandLine } from '../../src/client/shell/shell';
import { closedPort, Collector, exists, fakeIo, fakeServer, getReply, patternBytes, recordPartVersion, sha256, startServer, type TestServer } from './helpers';

/** The shell, fed by a pipe, against a real server (and a fake one for what a real one never does). */

let srv: TestServer;

beforeEach(async () => {
  srv = await startServer();
  await fs.writeFile(path.join(srv.root, 'hello.txt'), 'hello world\n');
  await fs.writeFile(path.join(srv.local, 'up.txt'), 'uploaded\n');
});

afterEach(async () => {
  await srv.close();
});

/** Run the shell over `script` with `--dir local`; returns exit code and output. */
async function shell(script: string, port = srv.port, extra: string[] = []) {
  const { io, stdout, stderr } = fakeIo(script, srv.local);
  const code = await main(['--port', String(port), '--dir', srv.local, ...extra], io);
  return { code, out: stdout.text, err: stderr.text };
}

test("the seed's session: LS, GET, PUT, QUIT", async () => {
  const { code, out, err } = await shell('LS\nGET hello.txt\nPUT up.txt\nQUIT\n');
  expect(err).toBe('');
  expect(code).toBe(0);
  const lines = out.trim().split('\n');
  expect(lines[0]).toBe('hello.txt');
  expect(lines[1]).toMatch(/^\/hello\.txt -> hello\.txt: 12 B in /);
  expect(lines[2]).toMatch(/^up\.txt -> \/up\.txt: 9 B in /);
  expect(lines).toHaveLength(3);
  expect(await fs.readFile(path.join(srv.local, 'hello.txt'), 'utf8')).toBe('hello world\n');
  expect(await fs.readFile(path.join(srv.root, 'up.txt'), 'utf8')).toBe('uploaded\n');
});

test('every other command, in one session', async () => {
  await fs.mkdir(path.join(srv.local, 'sub'));
  const script = [
    'mkdir photos', 'cd photos', 'pwd', 'put up.txt', 'ls -l', 'stat up.txt', 'mv up.txt renamed.txt', 'Ls',
    'cd ..', 'get photos/renamed.txt back.txt', 'get hello.txt -', 'rm photos/renamed.txt', 'rmdir photos', 'ls',
    'lpwd', 'lls', 'lcd sub', 'get hello.txt', 'help', 'help get', 'exit', 'ls',
  ].join('\n');
  const { code, out, err } = await shell(`${script}\n`);
  expect(err).toBe('');
  expect(code).toBe(0);
  const expected: Array<string | RegExp> = [
    'created /photos/',
    '/photos',
    /^up\.txt -> \/photos\/up\.txt: 9 B in /,
    /^file +9 B {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}up\.txt$/,
    '1 entry',
    'name:  up.txt', 'path:  /photos/up.txt', 'type:  file', 'size:  9 bytes', /^mtime: /,
    'renamed /photos/up.txt -> /photos/renamed.txt',
    'renamed.txt',
    /^\/photos\/renamed\.txt -> back\.txt: 9 B in /,
    'hello world',
    'removed /photos/renamed.txt',
    'removed /photos/',
    'hello.txt',
    srv.local,
    'back.txt', 'sub/', 'up.txt',
    `local folder: ${path.join(srv.local, 'sub')}`,
    /^\/hello\.txt -> hello\.txt: 12 B/,
    'Commands (case does not matter; Tab completes commands and names):',
  ];
  const lines = out.split('\n');
  let at = 0;
  for (const want of expected) {
    const found = lines.findIndex((l, i) => i >= at && (typeof want === 'string' ? l === want : want.test(l)));
    expect({ want: String(want), found: found >= 0 }).toEqual({ want: String(want), found: true });
    at = found + 1;
  }
  expect(out).toContain('usage: get [-c] REMOTE [LOCAL]');
  expect(out).toContain('  -c  resume LOCAL.part from where it stopped');
  // `exit` ended the session: the `ls` after it never ran.
  expect(lines[lines.length - 2]).toBe('  also: recv, download');
  expect(await fs.readFile(path.join(srv.local, 'sub', 'hello.txt'), 'utf8')).toBe('hello world\n');
  expect(await fs.readdir(srv.root)).toEqual(['hello.txt']);
});

test('failures print one line each, the session goes on, the exit code tells the last one', async () => {
  const { code, out, err } = await shell('get missing.txt\nbogus\nrmdir /\nls\nmkdir\nstat missing\n');
  expect(out).toBe('hello.txt\n');
  expect(err.split('\n')).toEqual([
    'get: missing.txt: Not found (404)',
    "unknown command 'bogus'; type help for the list",
    expect.stringMatching(/^rmdir: \/: .*\(403\)$/),
    'mkdir: usage: mkdir PATH',
    'stat: missing: Not found (404)',
    '',
  ]);
  expect(code).toBe(4);
  expect(await fs.readdir(srv.local)).toEqual(['up.txt']);
});

test('get -c resumes a partial download', async () => {
  const data = patternBytes(200_000, 3);
  await fs.writeFile(path.join(srv.root, 'data.bin'), data);
  await fs.writeFile(path.join(srv.local, 'data.bin.part'), data.subarray(0, 150_000));
  await recordPartVersion(srv.port, 'data.bin', path.join(srv.local, 'data.bin.part'));
  const { code, out, err } = await shell('get -c data.bin\n');
  expect({ code, err }).toEqual({ code: 0, err: '' });
  expect(out).toMatch(/^\/data\.bin -> data\.bin: 195 KiB in .*, resumed at 146 KiB\)\n$/);
  expect(sha256(await fs.readFile(path.join(srv.local, 'data.bin')))).toBe(sha256(data));
  expect(await exists(path.join(srv.local, 'data.bin.part'))).toBe(false);
});

test('an integrity failure exits 6 and leaves no complete-looking file', async () => {
  const fake = await fakeServer({
    onCommand: (cmd, socket) => socket.write(getReply(String(cmd.filename), Buffer.from('tampered'), 0, sha256('original'))),
  });
  try {
    const { code, err } = await shell('get report.pdf\nquit\n', fake.port);
    expect(err).toMatch(/^get: report\.pdf: checksum mismatch: .*\n$/);
    expect(code).toBe(6);
    expect(await fs.readdir(srv.local)).toEqual(['up.txt']);
  } finally {
    await fake.close();
  }
});

test('mget refuses names from the server that would escape the local folder', async () => {
  const names = ['../evil.txt', 'ok.txt', 'a\\b.txt', '..'];
  const fake = await fakeServer({
    onCommand: (cmd, socket) => {
      if (cmd.command === 'LS') {
        const files = names.map((name) => ({ name, type: 'file', size: 2, mtime: '2024-11-17T14:30:22.145Z' }));
        socket.write(encodeFrame({ type: 'response', code: 200, message: 'ok', files }));
      } else {
        socket.write(getReply(String(cmd.filename), Buffer.from('ok'), 0));
      }
    },
  });
  try {
    const { code, out, err } = await shell('mget *.txt\n', fake.port);
    expect(out).toMatch(/^\/ok\.txt -> ok\.txt: 2 B/);
    expect(err).toContain('mget: skipping unsafe name from the server "../evil.txt": contains a path separator');
    expect(err).toContain('mget: skipping unsafe name from the server "a\\\\b.txt": contains a path separator');
    expect(code).toBe(7);
    expect((await fs.readdir(srv.local)).sort()).toEqual(['ok.txt', 'up.txt']);
    expect(await exists(path.join(srv.local, '..', 'evil.txt'))).toBe(false);
  } finally {
    await fake.close();
  }
});

test('a server that is not there: one line on stderr, exit 5', async () => {
  const port = await closedPort();
  const { code, out, err } = await shell('ls\n', port);
  expect(out).toBe('');
  expect(err).toBe(`cannot connect to 127.0.0.1:${port}: connection refused (is the server running?)\n`);
  expect(code).toBe(5);
});

test('after a dropped connection the next command reconnects', async () => {
  const stdout = new Collector();
  const stderr = new Collector();
  const session = new ClientSession({
    host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, localDir: srv.local, stdout, stderr, progress: false, json: false,
  });
  try {
    expect((await runCommandLine(session, 'ls')).exitCode).toBe(0);
    session.abort();
    expect(session.connected).toBe(false);
    expect(await runCommandLine(session, 'stat hello.txt')).toEqual({ quit: false, exitCode: 0 });
    expect(stderr.text).toBe(`reconnecting to 127.0.0.1:${srv.port}\n`);
    expect(stdout.text).toContain('size:  12 bytes');
  } finally {
    await session.close();
  }
});
