/**
 * The real `ftp-server` CLI with `--ftp-port 0`: the FTP port starts on the
 * native port's core, logs `FTP listening on HOST:PORT`, serves a session,
 * and drains with the native port on SIGTERM. The FTP options come from the
 * command line, the environment and the config file like every other.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createSelfSigned } from '../../src/auth/self-signed';
import { main } from '../../src/cli/server-cli';
import { spawnServer } from '../helpers/server-process';
import { FtpControl, transfer } from './helpers/ftp-harness';


let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-cli-ftp-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

it('starts the FTP and FTPS ports with --ftp-port 0 --ftps-port 0, serves them, and drains them on SIGTERM', async () => {
  const pair = await createSelfSigned();
  await fs.writeFile(path.join(dir, 'cert.pem'), pair.cert);
  await fs.writeFile(path.join(dir, 'key.pem'), pair.key);
  const server = await spawnServer(
    ['--host', '127.0.0.1', '--port', '0', '--root', 'files', '--log-dir', 'logs', '--tls-cert', 'cert.pem', '--tls-key', 'key.pem',
      '--ftp-port', '0', '--ftps-port', '0', '--ftp-allow-plain', '--pasv-ports', '40000-40100'],
    dir,
    90_000, // Without dist/ the binary compiles src/ first: slow on a busy machine.
  );
  try {
    await server.waitForOutput(/FTPS listening on 127\.0\.0\.1:\d+/, 10_000);
    const port = Number(/\bFTP listening on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
    const implicitPort = Number(/\bFTPS listening on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
    expect(new Set([port, implicitPort, server.port]).size).toBe(3);

    // Implicit FTPS: TLS from the first byte, with the certificate given.
    const secure = await FtpControl.open(implicitPort, { tls: { ca: pair.cert, servername: 'localhost' } });
    expect(secure.greeting?.raw).toBe('220 ftp-server ready\r\n');
    expect((await secure.cmd('QUIT')).code).toBe(221);
    await secure.waitClosed();

    await fs.writeFile(path.join(dir, 'files', 'a.txt'), 'hello over ftp');

    // --ftp-allow-plain: a cleartext login on the FTP port, which offers AUTH TLS all the same.
    const control = await FtpControl.open(port);
    expect(control.greeting?.raw).toBe('220 ftp-server ready\r\n');
    expect((await control.cmd('FEAT')).lines).toContain(' AUTH TLS');
    expect((await control.cmd('USER anyone')).code).toBe(331);
    expect((await control.cmd('PASS x')).code).toBe(230);
    const retr = await transfer(control, 'RETR a.txt');
    expect(retr.data.toString()).toBe('hello over ftp');
    expect(retr.final.code).toBe(226);
    const stor = await transfer(control, 'STOR b.txt', 'uploaded');
    expect(stor.final.code).toBe(226);
    expect(await fs.readFile(path.join(dir, 'files', 'b.txt'), 'utf8')).toBe('uploaded');
    // The passive port comes from --pasv-ports.
    const pasv = await control.passive('PASV');
    expect(pasv).toBeGreaterThanOrEqual(40000);
    expect(pasv).toBeLessThanOrEqual(40100);

    // An idle FTP session is told 421 when the server drains, then closed.
    const stopped = server.stop();
    const farewell = await control.read();
    expect(farewell.raw).toBe('421 Server shutting down\r\n');
    await control.waitClosed();
    expect(await stopped).toBe(0);
  } finally {
    await server.stop().catch(() => undefined);
  }

  const files = await fs.readdir(path.join(dir, 'logs'));
  const logName = files.find((f) => /^ftp_server_\d{4}-\d\d-\d\d\.log$/.test(f));
  const text = await fs.readFile(path.join(dir, 'logs', logName!), 'utf8');
  expect(text).toMatch(/ - \[main\] - INFO - FTP listening on 127\.0\.0\.1:\d+\n/);
  expect(text).toMatch(/ - \[main\] - INFO - FTPS listening on 127\.0\.0\.1:\d+\n/);
  expect(text).toMatch(/ - \[FTP-127\.0\.0\.1:\d+\] - INFO - GET: Sent file - a\.txt \(14 bytes in \d+ ms\)\n/);
  expect(text).toMatch(/ - \[FTP-127\.0\.0\.1:\d+\] - INFO - PUT: Received file - b\.txt \(8 bytes in \d+ ms\)\n/);
  expect(text).toMatch(/ - \[main\] - INFO - FTP server stopped\n/);
  // The transfer log records which port each transfer came through.
  const transfers = (await fs.readFile(path.join(dir, 'logs', 'transfers.log'), 'utf8')).trimEnd().split('\n');
  expect(transfers[0].split('\t').at(-1)).toBe('protocol');
  expect(transfers.slice(1).map((line) => line.split('\t').at(-1))).toEqual(['ftp', 'ftp']);
}, 180_000);

it('takes the FTP options from the environment and the config file, shows them in --print-config, and refuses bad ones', async () => {
  const file = path.join(dir, 'ftp-options.json');
  await fs.writeFile(file, JSON.stringify({ 'pasv-address': '203.0.113.7', 'ftp-active': false }));
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) => new Writable({ write: (chunk: Buffer, _encoding, done) => (append(chunk.toString()), done()) });
  // In process (the first test ran the real binary): main() reads this process's environment.
  process.env.FTP_SERVER_PASV_PORTS = '50000-49000';
  let code: number;
  try {
    code = await main(['--print-config', '--config', file, '--ftp-port', '2121'], {
      stdin: process.stdin,
      stdout: sink((text) => (stdout += text)),
      stderr: sink((text) => (stderr += text)),
    });
  } finally {
    delete process.env.FTP_SERVER_PASV_PORTS;
  }
  const row = (key: string) => stdout.split('\n').find((line) => line.startsWith(`${key} `))?.replace(/ +/g, ' ');
  expect(row('ftp-port')).toBe('ftp-port 2121 command line');
  expect(row('pasv-ports')).toBe('pasv-ports "50000-49000" environment FTP_SERVER_PASV_PORTS');
  expect(row('pasv-address')).toBe('pasv-address "203.0.113.7" config file');
  expect(row('ftp-active')).toBe('ftp-active false config file');
  expect(row('ftp-allow-plain')).toBe('ftp-allow-plain false default');
  expect(row('ftps-port')).toBe('ftps-port (unset) default');
  expect(row('ftp-host')).toBe('ftp-host (unset) default');
  // The values would not start a server: exit 2 and say why.
  expect(stderr).toContain('--pasv-ports: MIN (50000) is greater than MAX (49000)');
  expect(code).toBe(2);
});
