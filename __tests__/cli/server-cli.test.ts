import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RawConnection } from '../helpers/raw-connection';

const BIN = path.join(__dirname, '..', '..', 'bin', 'ftp-server.js');
const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \[(main|Client-127\.0\.0\.1:\d+)\] - (INFO|WARNING|ERROR) - .+$/;

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-cli-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Wait for the start banner and return the port it names. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no banner; got: ${seen}`)), 15_000);
    child.stdout?.on('data', (d) => {
      seen += d;
      const match = /FTP Server listening on 127\.0\.0\.1:(\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

it.each([
  [['--port', '70000'], /--port must be a whole number from 0 to 65535/],
  [['--max-connections', '0'], /--max-connections must be a whole number/],
  [['--idle-timeout', 'soon'], /--idle-timeout must be a positive number of seconds/],
  [['--log-level', 'loud'], /log-level/],
  [['--no-such-option'], /Unknown argument/],
])('refuses %j with a clear message and exit code 2, before listening', async (args, message) => {
  const { code, stderr, stdout } = await exited(run(args));
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
  expect(stdout).not.toMatch(/listening/);
});

it('reads settings from FTP_SERVER_* environment variables', async () => {
  const { code, stderr } = await exited(run([], { FTP_SERVER_PORT: '-5' }));
  expect(code).toBe(2);
  expect(stderr).toMatch(/--port must be a whole number/);
});

it('shows every option in --help', async () => {
  const { code, stdout } = await exited(run(['--help']));
  expect(code).toBe(0);
  for (const option of ['--host', '--port', '--root', '--log-dir', '--log-level', '--max-connections', '--max-connections-per-ip', '--rate-limit', '--rate-window', '--idle-timeout', '--frame-timeout', '--transfer-timeout', '--max-upload-size', '--shutdown-grace']) {
    expect(stdout).toContain(option);
  }
});

it('serves a session, logs it in the classic format, and flushes every line on SIGTERM', async () => {
  const child = run(['--host', '127.0.0.1', '--port', '0', '--root', 'files', '--log-dir', 'logs']);
  const done = exited(child);
  const port = await listeningPort(child);
  await fs.writeFile(path.join(dir, 'files', 'a.txt'), 'hello');

  const { conn } = await RawConnection.open(port);
  expect(await conn.request('LS')).toMatchObject({ code: 200 });
  const header = await conn.request('GET', { filename: 'a.txt' });
  expect(header).toMatchObject({ code: 200, size: 5 });
  expect((await conn.bytes(5)).toString()).toBe('hello');
  expect(await conn.frame()).toMatchObject({ sha256: createHash('sha256').update('hello').digest('hex') });
  expect(await conn.request('GET', { filename: 'missing.txt' })).toMatchObject({ code: 404 });
  expect(await conn.request('PUT', { filename: 'b.txt', size: 3 })).toMatchObject({ code: 150 });
  conn.write('abc');
  expect(await conn.frame()).toMatchObject({ code: 226 });
  expect(await conn.request('DANCE')).toMatchObject({ code: 400 });
  expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
  await conn.waitClosed();

  child.kill('SIGTERM');
  const { code } = await done;
  expect(code).toBe(0);

  const files = await fs.readdir(path.join(dir, 'logs'));
  const logName = files.find((f) => /^ftp_server_\d{4}-\d\d-\d\d\.log$/.test(f));
  expect(logName).toBeDefined();
  const lines = (await fs.readFile(path.join(dir, 'logs', logName!), 'utf8')).trimEnd().split('\n');
  for (const line of lines) expect(line).toMatch(LINE);
  const expectations: Array<[string, RegExp]> = [
    ['INFO', /^\[main\] - INFO - FTP Server listening on 127\.0\.0\.1:\d+$/],
    ['INFO', /^\[main\] - INFO - New connection from 127\.0\.0\.1:\d+\. Active connections: 1$/],
    ['INFO', /^\[Client-127\.0\.0\.1:\d+\] - INFO - Command: GET a\.txt$/],
    ['INFO', /^\[Client-127\.0\.0\.1:\d+\] - INFO - LS: Sent 1 files to client$/],
    ['INFO', /^\[Client-127\.0\.0\.1:\d+\] - INFO - GET: Sent file - a\.txt \(5 bytes in \d+ ms\)$/],
    ['WARNING', /^\[Client-127\.0\.0\.1:\d+\] - WARNING - GET: File not found - missing\.txt$/],
    ['INFO', /^\[Client-127\.0\.0\.1:\d+\] - INFO - PUT: Received file - b\.txt \(3 bytes in \d+ ms\)$/],
    ['WARNING', /^\[Client-127\.0\.0\.1:\d+\] - WARNING - Invalid command: Unknown command: DANCE$/],
    ['INFO', /^\[Client-127\.0\.0\.1:\d+\] - INFO - Client 127\.0\.0\.1:\d+ requested disconnect$/],
    ['INFO', /^\[main\] - INFO - Connection closed for 127\.0\.0\.1:\d+ \(client quit\)\. Active connections: 0$/],
    ['INFO', /^\[main\] - INFO - Server shutting down\.\.\./],
  ];
  const bodies = lines.map((l) => l.slice('2024-11-17 14:30:22,145 - '.length));
  for (const [, pattern] of expectations) {
    expect(bodies.some((b) => pattern.test(b))).toBe(true);
  }
  expect(bodies.some((b) => b.includes('hello'))).toBe(false);
});
