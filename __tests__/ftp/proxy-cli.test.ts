/**
 * The real `ftp-server` CLI: `--proxy-protocol --trusted-proxies` reach the
 * FTP and implicit FTPS ports and their passive data ports, not only the
 * native port. A socket from 127.0.0.2 plays the balancer; 127.0.0.1 is a
 * client going around it.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSelfSigned } from '../../src/auth/self-signed';
import { spawnServer } from '../helpers/server-process';
import { v2Inet4 } from '../cluster/proxy-bytes';
import { FtpControl, readAll, within } from './helpers/ftp-harness';

const BALANCER = '127.0.0.2';
const CLIENT = '198.51.100.7';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-cli-proxy-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function connectFrom(port: number, from: string, bytes: Buffer): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => {
        socket.write(bytes);
        resolve(socket);
      });
      socket.once('error', reject);
    }),
    5_000,
    'connect',
  );
}

it('--proxy-protocol covers --ftp-port and --ftps-port: straight clients refused unread, the header\'s client served', async () => {
  const pair = await createSelfSigned();
  await fs.writeFile(path.join(dir, 'cert.pem'), pair.cert);
  await fs.writeFile(path.join(dir, 'key.pem'), pair.key);
  await fs.mkdir(path.join(dir, 'files'));
  await fs.writeFile(path.join(dir, 'files', 'a.txt'), 'through the balancer');
  const server = await spawnServer(
    ['--host', '127.0.0.1', '--port', '0', '--root', 'files', '--log-dir', 'logs', '--tls-cert', 'cert.pem', '--tls-key', 'key.pem',
      '--ftp-port', '0', '--ftps-port', '0', '--ftp-allow-plain', '--proxy-protocol', '--trusted-proxies', BALANCER],
    dir,
    90_000, // Without dist/ the binary compiles src/ first: slow on a busy machine.
  );
  try {
    await server.waitForOutput(/FTPS listening on 127\.0\.0\.1:\d+/, 10_000);
    const port = Number(/\bFTP listening on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
    const implicitPort = Number(/\bFTPS listening on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);

    // Around the balancer: closed without a byte on both ports.
    for (const target of [port, implicitPort]) {
      const socket = await connectFrom(target, '127.0.0.1', Buffer.from('USER anonymous\r\n'));
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', () => undefined);
      await within(new Promise((resolve) => socket.once('close', resolve)), 5_000, 'refused');
      expect(Buffer.concat(received).length).toBe(0);
    }

    const secure = await FtpControl.open(implicitPort, {
      localAddress: BALANCER,
      preface: v2Inet4(CLIENT, 40001, '127.0.0.1', implicitPort),
      tls: { ca: pair.cert, servername: 'localhost' },
    });
    expect(secure.greeting?.code).toBe(220);
    secure.close();

    const control = await FtpControl.open(port, { localAddress: BALANCER, preface: v2Inet4(CLIENT, 40000, '127.0.0.1', port) });
    expect(control.greeting?.code).toBe(220);
    expect((await control.cmd('USER anyone')).code).toBe(331);
    expect((await control.cmd('PASS x')).code).toBe(230);
    const dataPort = await control.passive('EPSV');
    const data = await connectFrom(dataPort, BALANCER, v2Inet4(CLIENT, 40002, '127.0.0.1', dataPort));
    const reading = readAll(data);
    expect((await control.cmd('RETR a.txt')).code).toBe(150);
    expect((await reading).toString()).toBe('through the balancer');
    expect((await control.read()).code).toBe(226);
    expect((await control.cmd('QUIT')).code).toBe(221);
    await control.waitClosed();
    await server.waitForOutput(/FTP connection closed for 198\.51\.100\.7:40000/, 5_000);
    expect(await server.stop()).toBe(0);
  } finally {
    await server.stop().catch(() => undefined);
  }
  const files = await fs.readdir(path.join(dir, 'logs'));
  const logName = files.find((f) => /^ftp_server_\d{4}-\d\d-\d\d\.log$/.test(f));
  const text = await fs.readFile(path.join(dir, 'logs', logName!), 'utf8');
  expect(text).toMatch(/ - \[main\] - INFO - New FTP connection from 198\.51\.100\.7:40000\. /);
  expect(text).toMatch(/ - \[main\] - INFO - New FTP connection from 198\.51\.100\.7:40001\. /);
  expect(text).toMatch(/ - \[main\] - WARNING - Refused connection from 127\.0\.0\.1:\d+: not a trusted proxy/);
});
