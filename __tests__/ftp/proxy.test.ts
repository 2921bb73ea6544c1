/**
 * The FTP port behind a load balancer (`proxy`, the CLI's `--proxy-protocol
 * --trusted-proxies`): a real FtpServer on 127.0.0.1, port 0, over a temp
 * root. A test socket from 127.0.0.2 plays the trusted balancer and writes
 * the PROXY header itself; the client it names, 198.51.100.7, is what the
 * door, the log labels and the passive data check must see. Anyone else —
 * a client connecting straight, a header naming another client, a data
 * connection without a header — is closed unread.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { createSelfSigned } from '../../src/auth/self-signed';
import { TrustedProxies } from '../../src/cluster/addresses';
import type { MemoryLog } from '../../src/logging/log';
import { Haproxy } from '../helpers/haproxy';
import { v1, v2Inet4 } from '../cluster/proxy-bytes';
import { dataConnect, FtpControl, readAll, startFtp, within, type FtpHarness, type FtpHarnessOptions } from './helpers/ftp-harness';

const BALANCER = '127.0.0.2';

/** Whether `port` can be bound on 127.0.0.1 right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive ports, below the ephemeral range (so
 * other tests' port-0 listeners do not take them meanwhile), that are free
 * now: a port held by something else would make HAProxy fail to start.
 */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const min = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => canBind(min + i)));
    if (free.every(Boolean)) return min;
  }
  throw new Error(`no ${count} consecutive free ports found in 20000-29999`);
}
const CLIENT = '198.51.100.7';
const OTHER = '198.51.100.8';

type Version = 'v1' | 'v2';
const header = (version: Version, client: string, port: number, serverPort: number): Buffer =>
  version === 'v1' ? v1(client, '127.0.0.1', port, serverPort) : v2Inet4(client, port, '127.0.0.1', serverPort);

const running: FtpHarness[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function start(options: FtpHarnessOptions = {}, trusted = BALANCER): Promise<FtpHarness> {
  const h = await startFtp({ proxy: { trusted: TrustedProxies.parse(trusted) }, ...options });
  running.push(h);
  return h;
}

/** A control connection through the "balancer": its header first, then FTP. */
function viaBalancer(h: FtpHarness, client: string, clientPort: number, version: Version = 'v2'): Promise<FtpControl> {
  return FtpControl.open(h.port, { localAddress: BALANCER, preface: header(version, client, clientPort, h.port) });
}

/** Connect from `from` and write `bytes` at once. */
function connectAndWrite(port: number, from: string, bytes: Buffer): Promise<net.Socket> {
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

/** Connect from `from`, send `bytes`, and wait for the server to close: everything it sent back. */
async function refusedReply(port: number, from: string, bytes: Buffer): Promise<Buffer> {
  const socket = await connectAndWrite(port, from, bytes);
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => undefined);
  await within(new Promise<void>((resolve) => socket.once('close', () => resolve())), 5_000, 'server closes the connection');
  return Buffer.concat(received);
}

const lines = (log: MemoryLog) => log.lines.map((l) => `${l.level} [${l.label}] ${l.message}`);

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not seen in time: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('what a hostile client sends to the control port', () => {
  test.each([
    ['trusting 127.0.0.2, a client from 127.0.0.1', BALANCER, '127.0.0.1'],
    ['trusting 127.0.0.1, a client from 127.0.0.2', '127.0.0.1', '127.0.0.2'],
  ])('%s with a forged header naming someone else is closed unread: no greeting, no session', async (_name, trusted, from) => {
    const h = await start({ limits: { maxConnectionsPerIp: 1 } }, trusted);
    // Claims to be a client of the balancer, with a command pipelined behind the claim.
    const sent = Buffer.concat([v1(CLIENT, '127.0.0.1', 40000, h.port), Buffer.from('USER anonymous\r\n')]);
    expect((await refusedReply(h.port, from, sent)).length).toBe(0);
    expect(h.ftp.activeSessions).toBe(0);
    expect(lines(h.log)).toEqual([expect.stringMatching(new RegExp(`^WARNING \\[main\\] Refused connection from ${from.replace(/\./g, '\\.')}:\\d+: not a trusted proxy`))]);
    // The balancer itself still gets through, so the refusal was about the peer, not the port.
    if (trusted === BALANCER) expect((await viaBalancer(h, CLIENT, 40001)).greeting?.code).toBe(220);
  });

  test('the balancer relaying FTP with no header is closed without a greeting', async () => {
    const h = await start();
    expect((await refusedReply(h.port, BALANCER, Buffer.from('USER anonymous\r\n'))).length).toBe(0);
    expect(h.ftp.activeSessions).toBe(0);
    expect(lines(h.log).join('\n')).toMatch(/invalid PROXY header/);
  });
});

describe('the client the header names is the session\'s client', () => {
  test.each(['v1', 'v2'] as const)('%s: log label, STAT, and passive RETR and STOR byte-exact through the balancer', async (version) => {
    const h = await start();
    const content = randomBytes(256 * 1024 + 7);
    await h.put('big.bin', content);
    const c = await viaBalancer(h, CLIENT, 40000, version);
    expect(c.greeting?.code).toBe(220);
    expect((await c.cmd('USER anonymous')).code).toBe(331);
    expect((await c.cmd('PASS x')).code).toBe(230);
    expect((await c.cmd('STAT')).lines).toContain(`Connected from ${CLIENT}`);
    expect(lines(h.log)).toContain(`INFO [main] New FTP connection from ${CLIENT}:40000. Active FTP connections: 1`);

    // Download: the data connection's header names the same client (HAProxy gives it a new source port).
    const port = await c.passive('PASV');
    const down = await connectAndWrite(port, BALANCER, header(version, CLIENT, 40002, port));
    const reading = readAll(down);
    expect((await c.cmd('RETR big.bin')).code).toBe(150);
    expect((await reading).equals(content)).toBe(true);
    expect((await c.read()).code).toBe(226);

    // Upload: the header and the first bytes in one write, as a balancer relays them.
    const upload = randomBytes(100 * 1024 + 3);
    const upPort = await c.passive('EPSV');
    const up = await connectAndWrite(upPort, BALANCER, Buffer.concat([header(version, CLIENT, 40003, upPort), upload.subarray(0, 1000)]));
    expect((await c.cmd('STOR up.bin')).code).toBe(150);
    up.end(upload.subarray(1000));
    expect((await c.read()).code).toBe(226);
    expect((await h.read('up.bin')).equals(upload)).toBe(true);

    expect(await c.cmd('QUIT')).toMatchObject({ code: 221 });
    await c.waitClosed();
    await until(() => h.log.lines.some((l) => l.message.startsWith('FTP connection closed')), 'the close line');
    const session = h.log.lines.filter((l) => l.label !== 'main');
    expect(session.length).toBeGreaterThan(0);
    for (const line of session) expect(line.label).toBe(`FTP-${CLIENT}:40000`);
    expect(lines(h.log).join('\n')).not.toMatch(/127\.0\.0\.2/);
  });

  test('the per-IP cap counts the client, not the balancer all its clients come from', async () => {
    const h = await start({ limits: { maxConnectionsPerIp: 1 } });
    const first = await viaBalancer(h, CLIENT, 40000);
    expect(first.greeting?.code).toBe(220);
    const second = await viaBalancer(h, CLIENT, 40001);
    expect(second.greeting?.code).toBe(421);
    await second.waitClosed();
    expect(lines(h.log)).toContainEqual(expect.stringMatching(new RegExp(`^WARNING \\[main\\] Refused FTP connection from ${CLIENT}:40001: .*\\(421\\)`)));
    // Another client through the same balancer is a different address.
    const other = await viaBalancer(h, OTHER, 40002);
    expect(other.greeting?.code).toBe(220);
    expect(h.ftp.activeSessions).toBe(2);
  });

  test('a ban earned by the client holds for the client, and not for the others behind the balancer', async () => {
    const h = await start({ users: [{ name: 'alice', password: 'right' }], policy: { maxFailures: 1 } });
    const c = await viaBalancer(h, CLIENT, 40000);
    expect((await c.cmd('USER alice')).code).toBe(331);
    expect([530, 421]).toContain((await c.cmd('PASS wrong')).code);
    c.close();
    const again = await viaBalancer(h, CLIENT, 40001);
    expect(again.greeting?.code).toBe(421);
    await again.waitClosed();
    const other = await viaBalancer(h, OTHER, 40002);
    expect(other.greeting?.code).toBe(220);
    expect((await other.cmd('USER alice')).code).toBe(331);
    expect((await other.cmd('PASS right')).code).toBe(230);
  });

  test('PORT may name only the header\'s client, never the balancer', async () => {
    const h = await start();
    const c = await viaBalancer(h, CLIENT, 40000);
    await c.cmd('USER anonymous');
    await c.cmd('PASS x');
    // The balancer's own address is a third party to this client: a bounce.
    expect(await c.cmd('PORT 127,0,0,2,200,10')).toMatchObject({ code: 501, text: expect.stringContaining('not your own address') });
    expect((await c.cmd(`PORT ${CLIENT.replace(/\./g, ',')},200,10`)).code).toBe(200);
  });
});

describe('passive data connections in proxy mode', () => {
  test('a header naming another client, no header, or no balancer at all: refused unread, and the real client still transfers', async () => {
    const h = await start();
    const content = randomBytes(64 * 1024);
    await h.put('f.bin', content);
    const c = await viaBalancer(h, CLIENT, 40000);
    await c.cmd('USER anonymous');
    await c.cmd('PASS x');
    const port = await c.passive('EPSV');

    // Port stealing through the balancer: another of its clients races to the advertised port.
    expect((await refusedReply(port, BALANCER, header('v2', OTHER, 40100, port))).length).toBe(0);
    // The balancer relaying bytes without a header (a misconfigured passive range).
    expect((await refusedReply(port, BALANCER, Buffer.from('stolen?'))).length).toBe(0);
    // Straight from an untrusted peer, claiming to be the client.
    expect((await refusedReply(port, '127.0.0.1', header('v1', CLIENT, 40101, port))).length).toBe(0);

    const log = lines(h.log).join('\n');
    expect(log).toMatch(new RegExp(`WARNING \\[FTP-${CLIENT}:40000\\] Refused a data connection from ${OTHER}:40100: not the control connection's address ${CLIENT}`));
    expect(log).toMatch(/WARNING \[FTP-198\.51\.100\.7:40000\] Closing connection from proxy 127\.0\.0\.2:\d+: invalid PROXY header/);
    expect(log).toMatch(/WARNING \[FTP-198\.51\.100\.7:40000\] Refused connection from 127\.0\.0\.1:\d+: not a trusted proxy/);

    const data = await connectAndWrite(port, BALANCER, header('v2', CLIENT, 40102, port));
    const reading = readAll(data);
    expect((await c.cmd('RETR f.bin')).code).toBe(150);
    expect((await reading).equals(content)).toBe(true);
    expect((await c.read()).code).toBe(226);
  });

  test('a data connection from the balancer naming the client, made before the header of a stranger finishes, wins; the stranger is cut', async () => {
    const h = await start();
    await h.put('a.txt', 'abc');
    const c = await viaBalancer(h, CLIENT, 40000);
    await c.cmd('USER anonymous');
    await c.cmd('PASS x');
    const port = await c.passive('EPSV');
    // Half a v2 header, never finished.
    const stranger = await connectAndWrite(port, BALANCER, header('v2', OTHER, 40100, port).subarray(0, 10));
    stranger.on('error', () => undefined);
    const strangerClosed = new Promise<void>((resolve) => stranger.once('close', () => resolve()));
    const data = await connectAndWrite(port, BALANCER, header('v1', CLIENT, 40101, port));
    const reading = readAll(data);
    expect((await c.cmd('RETR a.txt')).code).toBe(150);
    expect((await reading).toString()).toBe('abc');
    expect((await c.read()).code).toBe(226);
    // Closed once the real connection was taken, not at its header timeout (10 s).
    await within(strangerClosed, 5_000, 'the stranger is closed');
  });
});

describe('implicit FTPS behind the balancer', () => {
  test('the header in cleartext, then the TLS handshake: the session is the client\'s, and so is a PROT P data connection', async () => {
    const pair = await createSelfSigned();
    const h = await start({ tls: { cert: pair.cert, key: pair.key }, implicitTls: true });
    const c = await FtpControl.open(h.port, {
      localAddress: BALANCER,
      preface: header('v2', CLIENT, 40000, h.port),
      tls: { ca: pair.cert, servername: 'localhost' },
    });
    expect(c.greeting?.code).toBe(220);
    expect((await c.cmd('USER anonymous')).code).toBe(331);
    expect((await c.cmd('PASS x')).code).toBe(230);
    expect((await c.cmd('STAT')).lines).toContain(`Connected from ${CLIENT}`);
    expect(lines(h.log)).toContain(`INFO [main] New FTP connection from ${CLIENT}:40000. Active FTP connections: 1`);

    // PROT P: the data connection's header first, then its own TLS handshake on the same socket.
    const content = randomBytes(128 * 1024);
    await h.put('secret.bin', content);
    expect((await c.cmd('PBSZ 0')).code).toBe(200);
    expect((await c.cmd('PROT P')).code).toBe(200);
    const port = await c.passive('EPSV');
    const raw = await connectAndWrite(port, BALANCER, header('v2', CLIENT, 40001, port));
    c.send('RETR secret.bin');
    const secure = tls.connect({ socket: raw, ca: pair.cert, servername: 'localhost' });
    secure.on('error', () => undefined);
    const reading = readAll(secure);
    expect((await c.read()).code).toBe(150);
    expect((await reading).equals(content)).toBe(true);
    expect((await c.read()).code).toBe(226);
  });
});

describe('through a real HAProxy', () => {
  let haproxy: Haproxy | undefined;
  afterEach(async () => {
    await haproxy?.stop();
    haproxy = undefined;
  });

  test('send-proxy-v2 on the control port and the passive range: the client logs in, uploads and downloads byte-exact', async () => {
    // The node on 127.0.0.3 so HAProxy can bind the same passive ports on 127.0.0.1, as a balancer does on its own address.
    // Below the ephemeral range, so nothing else is likely to hold them.
    const min = await freeRange(5);
    const range = `${min}-${min + 4}`;
    const h = await start({ host: '127.0.0.3', pasvAddress: '127.0.0.1', pasvPorts: { min, max: min + 4 } });
    haproxy = await Haproxy.start({
      source: BALANCER,
      backends: [{ name: 'ftp', host: '127.0.0.3', port: h.port, proxyVersion: 2 }],
      extra: [
        'frontend fe_passive',
        `    bind 127.0.0.1:${range}`,
        '    default_backend passive',
        'backend passive',
        `    source ${BALANCER}`,
        // No port: each connection keeps the port the client dialled.
        '    server ftp 127.0.0.3 send-proxy-v2',
      ],
    });
    const c = await FtpControl.open(haproxy.port);
    const clientPort = c.socket.localPort!;
    expect(c.greeting?.code).toBe(220);
    expect((await c.cmd('USER anonymous')).code).toBe(331);
    expect((await c.cmd('PASS x')).code).toBe(230);
    expect((await c.cmd('STAT')).lines).toContain('Connected from 127.0.0.1');

    const upload = randomBytes(200 * 1024 + 1);
    const reply = await c.cmd('PASV');
    expect(reply.text).toMatch(/\(127,0,0,1,\d+,\d+\)/);
    const up = await dataConnect(portOf(reply.text));
    expect((await c.cmd('STOR via-haproxy.bin')).code).toBe(150);
    up.end(upload);
    expect((await c.read()).code).toBe(226);
    expect((await h.read('via-haproxy.bin')).equals(upload)).toBe(true);

    const down = await dataConnect(await c.passive('PASV'));
    const reading = readAll(down);
    expect((await c.cmd('RETR via-haproxy.bin')).code).toBe(150);
    expect((await reading).equals(upload)).toBe(true);
    expect((await c.read()).code).toBe(226);

    // The session is the client's (its own source port), never HAProxy's 127.0.0.2.
    expect(lines(h.log)).toContain(`INFO [main] New FTP connection from 127.0.0.1:${clientPort}. Active FTP connections: 1`);
    expect(lines(h.log).join('\n')).not.toMatch(/127\.0\.0\.2|Refused/);
  });
});

function portOf(pasvText: string): number {
  const m = /\((?:\d+,){4}(\d+),(\d+)\)/.exec(pasvText);
  if (!m) throw new Error(`not a 227 reply: ${pasvText}`);
  return Number(m[1]) * 256 + Number(m[2]);
}
