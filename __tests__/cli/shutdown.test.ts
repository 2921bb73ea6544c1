/**
 * SIGTERM to the real CLI (bin/ftp-server.js in a child process): the first
 * lets transfers in flight finish within the grace and the process exits 0
 * with its log flushed; a second cuts everything at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RawConnection } from '../helpers/raw-connection';
import { spawnServer, type ServerProcess } from '../helpers/server-process';

jest.setTimeout(120_000);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** The part of a log line after its timestamp. */
const body = (line: string) => line.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - /, '');

let dir: string;
let server: ServerProcess | undefined;
const conns: RawConnection[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-cli-shutdown-'));
  await fs.mkdir(path.join(dir, 'files'));
});

afterEach(async () => {
  for (const conn of conns.splice(0)) conn.close();
  // Only if a test failed before its server exited: stop() signals this child's PID alone.
  await server?.stop(15_000).catch(() => undefined);
  server = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

async function start(grace: number): Promise<{ server: ServerProcess; exited: Promise<number | null> }> {
  server = await spawnServer(
    ['--host', '127.0.0.1', '--port', '0', '--root', 'files', '--log-dir', 'logs', '--shutdown-grace', String(grace)],
    dir,
    60_000,
  );
  const child = server.child;
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return { server, exited };
}

async function open(port: number): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(port);
  conns.push(conn);
  expect(greeting.code).toBe(200);
  return conn;
}

/** Poll until `check` holds, at most `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Size of the one upload temp file beside `target` in the served folder (-1 when there is none). */
async function tempSize(target: string, others: string[] = []): Promise<number> {
  const names = (await fs.readdir(path.join(dir, 'files'))).filter((n) => n !== target && !others.includes(n));
  if (names.length !== 1) return -1;
  return (await fs.stat(path.join(dir, 'files', names[0])).catch(() => ({ size: -1 }))).size;
}

/** Every line of the log files, oldest file first. */
async function logLines(): Promise<string[]> {
  const names = (await fs.readdir(path.join(dir, 'logs'))).filter((n) => /^ftp_server_.*\.log$/.test(n)).sort();
  const texts = await Promise.all(names.map((n) => fs.readFile(path.join(dir, 'logs', n), 'utf8')));
  return texts.join('').trimEnd().split('\n');
}

/** Resolves 'refused' or 'no greeting' or 'greeted' for a new plain connection. */
function knock(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('no greeting'), 5_000);
    socket.once('data', () => finish('greeted'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'no greeting'));
    socket.once('close', () => finish('no greeting'));
  });
}

it('on SIGTERM mid-upload lets the upload finish within the grace, refuses newcomers, exits 0 and flushes the log', async () => {
  const { server: srv, exited } = await start(30);
  await fs.writeFile(path.join(dir, 'files', 'up.bin'), 'old content');
  const payload = randomBytes(2 * 1024 * 1024);
  const conn = await open(srv.port);
  expect(await conn.request('PUT', { filename: 'up.bin', size: payload.length, sha256: sha256(payload) })).toMatchObject({ code: 150 });
  conn.write(payload.subarray(0, 1024 * 1024));
  await until(async () => (await tempSize('up.bin')) === 1024 * 1024);

  process.kill(srv.pid, 'SIGTERM');
  await srv.waitForOutput(/INFO - Received SIGTERM; finishing transfers for up to 30 s \(send again to stop now\)/, 20_000);
  expect(await knock(srv.port)).not.toBe('greeted');

  conn.write(payload.subarray(1024 * 1024));
  expect(await conn.frame(30_000)).toMatchObject({ code: 226, bytes_received: payload.length, sha256: sha256(payload) });
  // The reply was the session's last: the server closes it, then exits on its own.
  await conn.waitClosed(20_000);
  expect(await exited).toBe(0);
  expect((await fs.readFile(path.join(dir, 'files', 'up.bin'))).equals(payload)).toBe(true);
  expect(await fs.readdir(path.join(dir, 'files'))).toEqual(['up.bin']);

  // The log file holds the whole drain, up to the very last line.
  const lines = (await logLines()).filter((l) => !/^\s/.test(l)).map(body);
  const order = [
    /^\[main\] - INFO - Received SIGTERM; finishing transfers/,
    /^\[main\] - INFO - Server shutting down\.\.\. \(1 active connections\)$/,
    /^\[Client-127\.0\.0\.1:\d+\] - INFO - PUT: Received file - up\.bin \(2097152 bytes in \d+ ms\)$/,
    /^\[main\] - INFO - Connection closed for 127\.0\.0\.1:\d+ \(server shutting down\)\. Active connections: 0$/,
    /^\[main\] - INFO - Server stopped$/,
  ];
  const at = order.map((pattern) => lines.findIndex((l) => pattern.test(l)));
  expect(at.every((i) => i >= 0)).toBe(true);
  expect([...at].sort((a, b) => a - b)).toEqual(at);
  expect(lines[lines.length - 1]).toMatch(/^\[main\] - INFO - Server stopped$/);
  expect(lines.some((l) => / - (WARNING|ERROR) - /.test(l))).toBe(false);
});

it('on a second SIGTERM cuts every transfer at once: temp file removed, target untouched, exit 0', async () => {
  // A grace far longer than the test: only the second signal can end it in time.
  const { server: srv, exited } = await start(600);
  await fs.writeFile(path.join(dir, 'files', 'up.bin'), 'old content');
  const big = randomBytes(32 * 1024 * 1024);
  await fs.writeFile(path.join(dir, 'files', 'big.bin'), big);

  const uploader = await open(srv.port);
  expect(await uploader.request('PUT', { filename: 'up.bin', size: 2 * 1024 * 1024 })).toMatchObject({ code: 150 });
  uploader.write(Buffer.alloc(1024 * 1024, 0x61));
  await until(async () => (await tempSize('up.bin', ['big.bin'])) === 1024 * 1024);
  const downloader = await open(srv.port);
  downloader.command('GET', { filename: 'big.bin' });
  expect(await downloader.frame(20_000)).toMatchObject({ code: 200, size: big.length });
  downloader.socket.pause();

  process.kill(srv.pid, 'SIGTERM');
  await srv.waitForOutput(/Received SIGTERM; finishing transfers for up to 600 s/, 20_000);
  // Draining: the transfers go on.
  uploader.write(Buffer.alloc(512 * 1024, 0x62));
  await until(async () => (await tempSize('up.bin', ['big.bin'])) === 1536 * 1024);
  expect(uploader.closed).toBe(false);
  expect(downloader.closed).toBe(false);

  process.kill(srv.pid, 'SIGTERM');
  await srv.waitForOutput(/WARNING - Received SIGTERM again; closing all connections now/, 20_000);
  await uploader.waitClosed(20_000);
  downloader.socket.resume();
  await downloader.waitClosed(20_000);
  expect(await exited).toBe(0);

  expect((await fs.readdir(path.join(dir, 'files'))).sort()).toEqual(['big.bin', 'up.bin']);
  expect(await fs.readFile(path.join(dir, 'files', 'up.bin'), 'utf8')).toBe('old content');
  const lines = (await logLines()).filter((l) => !/^\s/.test(l)).map(body);
  for (const pattern of [
    /^\[main\] - WARNING - Received SIGTERM again; closing all connections now$/,
    /^\[Client-127\.0\.0\.1:\d+\] - ERROR - PUT: Failed to receive file - up\.bin \(1572864 of 2097152 bytes in \d+ ms: connection closed during upload\)$/,
    /^\[Client-127\.0\.0\.1:\d+\] - ERROR - GET: Failed to send file - big\.bin \(\d+ of 33554432 bytes/,
  ]) {
    expect({ pattern: String(pattern), found: lines.some((l) => pattern.test(l)) }).toEqual({ pattern: String(pattern), found: true });
  }
  expect(lines[lines.length - 1]).toMatch(/^\[main\] - INFO - Server stopped$/);
});
