import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import fs from 'node:fs/promises';
import path from 'node:path';
import { main } from '../../src/cli/client-cli';
import { FtpClient } from '../../src/client/ftp-client';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { closedPort, fakeIo, fakeServer, getReply, sha256, startServer, type TestServer } from './helpers';

/** `ftp-client COMMAND …`: output, JSON and exit codes. */

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer();
});

afterAll(async () => {
  await srv.close();
});

beforeEach(async () => {
  for (const dir of [srv.root, srv.local]) {
    for (const name of await fs.readdir(dir)) await fs.rm(path.join(dir, name), { recursive: true });
  }
  await fs.writeFile(path.join(srv.root, 'hello.txt'), 'hello world\n');
  await fs.mkdir(path.join(srv.root, 'docs'));
  await fs.writeFile(path.join(srv.local, 'up.txt'), 'uploaded\n');
});

async function run(args: string[], env: Record<string, string> = {}) {
  const { io, stdout, stderr } = fakeIo(null, srv.local);
  const code = await main(args, { ...io, env: { ...io.env, ...env } });
  return { code, out: stdout.text, err: stderr.text };
}
const at = (...args: string[]) => run(['--port', String(srv.port), '--dir', srv.local, ...args]);

test('ls prints names, ls -l a table, --json the entries', async () => {
  expect(await at('ls')).toEqual({ code: 0, out: 'docs/\nhello.txt\n', err: '' });
  const long = await at('ls', '-l');
  expect(long.out).toMatch(/^dir {2,}- {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}docs\/\nfile {2,}12 B {2}[-\d: ]+ {2}hello\.txt\n2 entries\n$/);
  const json = await at('--json', 'ls');
  expect(JSON.parse(json.out)).toEqual({
    path: '/',
    files: [expect.objectContaining({ name: 'docs', type: 'dir' }), expect.objectContaining({ name: 'hello.txt', size: 12 })],
  });
});

test('command words are case-insensitive and aliases work', async () => {
  expect((await at('LS')).out).toBe('docs/\nhello.txt\n');
  expect((await at('Dir', 'docs')).code).toBe(0);
});

test('get writes into --dir, or to stdout with -', async () => {
  const got = await at('get', 'hello.txt');
  expect(got.code).toBe(0);
  expect(got.out).toMatch(/^\/hello\.txt -> hello\.txt: 12 B in /);
  expect(await fs.readFile(path.join(srv.local, 'hello.txt'), 'utf8')).toBe('hello world\n');
  expect(await at('get', 'hello.txt', '-')).toEqual({ code: 0, out: 'hello world\n', err: '' });
  const json = JSON.parse((await at('get', '--json', 'hello.txt', 'copy.txt')).out);
  expect(json).toMatchObject({ ok: true, command: 'get', remote: '/hello.txt', local: path.join(srv.local, 'copy.txt'), size: 12, sha256: sha256('hello world\n') });
});

test('put, mkdir, mv, stat, rm, rmdir with --json', async () => {
  const steps: Array<[string[], object]> = [
    [['put', 'up.txt', 'docs/'], { ok: true, command: 'put', remote: '/docs/up.txt', bytes: 9, sha256: sha256('uploaded\n') }],
    [['mkdir', 'docs/old'], { ok: true, command: 'mkdir', path: '/docs/old' }],
    [['mv', 'docs/up.txt', 'docs/old'], { ok: true, command: 'mv', from: '/docs/up.txt', to: '/docs/old/up.txt' }],
    [['stat', 'docs/old/up.txt'], { path: '/docs/old/up.txt', file: expect.objectContaining({ name: 'up.txt', type: 'file', size: 9 }) }],
    [['rm', 'docs/old/up.txt'], { ok: true, command: 'rm', path: '/docs/old/up.txt' }],
    [['rmdir', 'docs/old'], { ok: true, command: 'rmdir', path: '/docs/old' }],
  ];
  for (const [args, expected] of steps) {
    const r = await at('--json', ...args);
    expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: '' });
    expect(JSON.parse(r.out)).toMatchObject(expected);
  }
  expect(await fs.readdir(path.join(srv.root, 'docs'))).toEqual([]);
});

test('exit codes: not found 4, other refusals 1, usage 2', async () => {
  expect(await at('get', 'missing.txt')).toEqual({ code: 4, out: '', err: 'get: missing.txt: Not found (404)\n' });
  expect((await at('--json', 'stat', 'missing')).code).toBe(4);
  const conflict = await at('mkdir', 'docs');
  expect(conflict.code).toBe(1);
  expect(conflict.err).toMatch(/^mkdir: docs: .*\(409\)\n$/);
  for (const args of [['frobnicate'], ['get'], ['ls', '-z'], ['--port', 'abc', 'ls'], ['--port', '70000', 'ls']]) {
    const r = await run(args);
    expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 2, out: '' });
    expect(r.err).toMatch(/^ftp-client: /);
  }
});

test('--help lists the commands and the exit codes', async () => {
  const r = await run(['--help']);
  expect(r.code).toBe(0);
  expect(r.out).toContain('ftp-client get <remote> [local]');
  expect(r.out).toContain('4  not found');
});

test('exit codes: network 5, refused 3, integrity 6', async () => {
  const port = await closedPort();
  const down = await run(['--port', String(port), 'ls']);
  expect(down).toEqual({ code: 5, out: '', err: `ls: cannot connect to 127.0.0.1:${port}: connection refused (is the server running?)\n` });

  const busy = await startServer({ maxConnections: 1 });
  const holder = await FtpClient.connect({ host: '127.0.0.1', port: busy.port });
  try {
    const refused = await run(['--port', String(busy.port), 'ls']);
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/^ls: server refused the connection: .*\(503\)\n$/);
  } finally {
    holder.close();
    await busy.close();
  }

  const fake = await fakeServer({
    onCommand: (cmd, socket) => socket.write(getReply(String(cmd.filename), Buffer.from('bad'), 0, sha256('good'))),
  });
  try {
    const bad = await run(['--port', String(fake.port), '--dir', srv.local, 'get', 'f.txt']);
    expect(bad.code).toBe(6);
    expect(await fs.readdir(srv.local)).toEqual(['up.txt']);
  } finally {
    await fake.close();
  }
});

test('FTP_SERVER_HOST and FTP_SERVER_PORT are the defaults', async () => {
  const r = await run(['ls'], { FTP_SERVER_HOST: '127.0.0.1', FTP_SERVER_PORT: String(srv.port) });
  expect(r).toEqual({ code: 0, out: 'docs/\nhello.txt\n', err: '' });
});

test('bin/ftp-client.js runs a piped shell session and sets the exit code', async () => {
  const bin = path.join(__dirname, '..', '..', 'bin', 'ftp-client.js');
  const child = spawn(process.execPath, [bin, '--port', String(srv.port), '--dir', srv.local], {
    env: { ...process.env, FTP_CLIENT_HISTORY: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  child.stdin.end('LS\nGET hello.txt\nPUT up.txt\nGET nope\nQUIT\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(err).toBe('get: nope: Not found (404)\n');
  expect(out.split('\n')[0]).toBe('docs/');
  expect(out).toContain('up.txt -> /up.txt: 9 B');
  expect(code).toBe(4);
  expect(await fs.readFile(path.join(srv.root, 'up.txt'), 'utf8')).toBe('uploaded\n');
});

test('--user logs in when the greeting asks for it; a wrong password exits 8', async () => {
  const fake = await fakeServer({
    greeting: { type: 'connection', code: 200, message: 'Connection established', protocol: 1, features: ['LS', 'AUTH'], auth_required: true },
    onCommand: (() => {
      const authed = new WeakSet<object>();
      return (cmd: Record<string, unknown>, socket: Socket) => {
        const reply = (m: object): boolean => socket.write(encodeFrame(m));
        if (cmd.command === 'AUTH') {
          const ok = cmd.username === 'ana' && cmd.password === 's3cret';
          if (ok) authed.add(socket);
          reply(ok ? { type: 'response', code: 200, message: 'Logged in' } : { type: 'response', code: 401, message: 'Wrong user name or password' });
        } else if (!authed.has(socket)) {
          reply({ type: 'response', code: 401, message: 'Authentication required' });
        } else {
          reply({ type: 'response', code: 200, message: '0 entries', files: [] });
        }
      };
    })(),
  });
  try {
    const args = ['--port', String(fake.port), '--json', 'ls'];
    expect(await run(['--user', 'ana', ...args], { FTP_SERVER_PASSWORD: 's3cret' })).toEqual({ code: 0, out: '{"path":"/","files":[]}\n', err: '' });
    const wrong = await run(['--user', 'ana', ...args], { FTP_SERVER_PASSWORD: 'nope' });
    expect(wrong).toEqual({ code: 8, out: '', err: 'ls: login as ana: Wrong user name or password (401)\n' });
    const none = await run(args);
    expect(none.code).toBe(8);
    expect(none.err).toContain('the server requires authentication: pass --user');
  } finally {
    await fake.close();
  }
});
