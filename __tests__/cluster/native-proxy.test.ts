/**
 * The native listener behind a load balancer (`proxy` option, the CLI's
 * `--proxy-protocol --trusted-proxies`): a real FileServer on 127.0.0.1,
 * port 0; a test socket plays the balancer from 127.0.0.2 (the only trusted
 * address) and an attacker connects from 127.0.0.1. Every check is on what
 * the server did: greetings, refusals, its log labels and its admission.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { createSelfSigned } from '../../src/auth/self-signed';
import { TrustedProxies } from '../../src/cluster/addresses';
import type { BanList } from '../../src/core/admission';
import { MemoryLog } from '../../src/logging/log';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { FileServer, type FileServerOptions } from '../../src/server/file-server';
import { FakeClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { v1, v2, v2Inet4 } from './proxy-bytes';

const BALANCER = '127.0.0.2';
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

interface Node {
  server: FileServer;
  log: MemoryLog;
  root: string;
  stop(): Promise<void>;
}

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(options: Partial<FileServerOptions> = {}): Promise<Node> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-proxy-'));
  const root = path.join(base, 'root');
  await fs.mkdir(root);
  const log = new MemoryLog();
  const server = await FileServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    log,
    proxy: { trusted: TrustedProxies.parse(BALANCER) },
    ...options,
    limits: { shutdownGraceMs: 1_000, ...options.limits },
  });
  const node = {
    server,
    log,
    root,
    async stop() {
      await server.close(500);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
  nodes.push(node);
  return node;
}

/** A socket to `port` from `from` (a loopback address), connected. */
function connectFrom(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** As the balancer: connect, send the header for `client`, and speak the protocol after it. */
async function viaBalancer(port: number, header: Buffer): Promise<{ conn: RawConnection; greeting: Record<string, unknown> }> {
  const socket = await connectFrom(port, BALANCER);
  socket.write(header);
  const conn = RawConnection.over(socket);
  return { conn, greeting: await conn.frame() };
}

const messages = (log: MemoryLog) => log.lines.map((l) => `${l.level} [${l.label}] ${l.message}`);

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not seen in time: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('what a hostile client sends', () => {
  test('a forged PROXY header straight from a client is closed unread, never admitted nor greeted', async () => {
    const node = await startNode({ limits: { maxConnectionsPerIp: 1 } });
    const socket = await connectFrom(node.server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Claims to be someone else, and pipelines a command behind the claim.
    socket.write(Buffer.concat([v1('198.51.100.1', '127.0.0.1', 1234, 5002), encodeFrame({ type: 'command', command: 'LS' })]));
    await closed;
    expect(Buffer.concat(received).length).toBe(0);
    expect(node.server.openConnections).toBe(0);
    expect(messages(node.log)).toEqual([
      expect.stringMatching(/^WARNING \[main\] Refused connection from 127\.0\.0\.1:\d+: not a trusted proxy/),
    ]);
  });

  test('the balancer relaying garbage instead of a header: closed, no greeting, no session', async () => {
    const node = await startNode();
    const socket = await connectFrom(node.server.port, BALANCER);
    socket.on('error', () => undefined);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(encodeFrame({ type: 'command', command: 'LS' }));
    await closed;
    expect(Buffer.concat(received).length).toBe(0);
    expect(messages(node.log)).toEqual([
      expect.stringMatching(/^WARNING \[main\] Closing connection from proxy 127\.0\.0\.2:\d+: invalid PROXY header/),
    ]);
  });

  test('a header that never ends is cut at the header timeout and holds no place', async () => {
    const clock = new FakeClock();
    const node = await startNode({ clock, proxy: { trusted: TrustedProxies.parse(BALANCER), headerTimeoutMs: 3_000 } });
    const socket = await connectFrom(node.server.port, BALANCER);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(v2Inet4('198.51.100.7', 4000).subarray(0, 10));
    await until(() => clock.pendingTimers > 0, 'the header timer armed');
    expect(node.server.openConnections).toBe(0);
    clock.advance(3_000);
    await closed;
    expect(messages(node.log)).toEqual([
      expect.stringMatching(/^WARNING \[main\] Closing connection from proxy 127\.0\.0\.2:\d+: no complete PROXY header within 3 s/),
    ]);
  });

  test('a client behind the balancer is counted by its own address: the per-IP cap and bans hold for it, not for the balancer', async () => {
    const banned = new Set(['203.0.113.66']);
    const bans: BanList = { isBanned: (ip) => banned.has(ip) };
    const node = await startNode({ bans, limits: { maxConnectionsPerIp: 2 } });
    const port = node.server.port;
    const a1 = await viaBalancer(port, v2Inet4('198.51.100.7', 40001));
    const a2 = await viaBalancer(port, v1('198.51.100.7', '127.0.0.1', 40002, port));
    const a3 = await viaBalancer(port, v2Inet4('198.51.100.7', 40003));
    // Three connections from the balancer, but two clients: the second is not over any cap.
    const b1 = await viaBalancer(port, v2Inet4('198.51.100.8', 40004));
    const evil = await viaBalancer(port, v2Inet4('203.0.113.66', 40005));
    expect([a1, a2, a3, b1, evil].map((c) => c.greeting.code)).toEqual([200, 200, 429, 200, 429]);
    expect(evil.greeting.message).toMatch(/failed logins/);
    expect(node.server.core.admission.heldBy('198.51.100.7')).toBe(2);
    expect(node.server.core.admission.heldBy(BALANCER)).toBe(0);
    for (const c of [a1, a2, a3, b1, evil]) c.conn.close();
    expect(messages(node.log)).toEqual(expect.arrayContaining([
      'INFO [main] New connection from 198.51.100.7:40001. Active connections: 1',
      'INFO [main] New connection from 198.51.100.7:40002. Active connections: 2',
      'WARNING [main] Refused connection from 198.51.100.7:40003: Too many connections from your address (429)',
      'INFO [main] New connection from 198.51.100.8:40004. Active connections: 3',
      'WARNING [main] Refused connection from 203.0.113.66:40005: Too many failed logins from your address; try again later (429)',
    ]));
  });
});

describe('serving through the balancer', () => {
  test('the header and the first commands in one write: served in order, logged under the client\'s address', async () => {
    const node = await startNode();
    await fs.writeFile(path.join(node.root, 'a.txt'), 'hello');
    const socket = await connectFrom(node.server.port, BALANCER);
    socket.write(Buffer.concat([
      v2Inet4('192.0.2.10', 51515),
      encodeFrame({ type: 'command', command: 'GET', filename: 'a.txt' }),
      encodeFrame({ type: 'command', command: 'QUIT' }),
    ]));
    const conn = RawConnection.over(socket);
    expect(await conn.frame()).toMatchObject({ type: 'connection', code: 200 });
    expect(await conn.frame()).toMatchObject({ code: 200, size: 5 });
    expect((await conn.bytes(5)).toString()).toBe('hello');
    expect(await conn.frame()).toMatchObject({ code: 226, sha256: sha256('hello') });
    expect(await conn.frame()).toMatchObject({ code: 200, message: 'Goodbye' });
    await conn.waitClosed();
    await until(() => node.log.lines.some((l) => /^Connection closed for/.test(l.message)), 'the close line');
    expect(messages(node.log)).toEqual([
      'INFO [main] New connection from 192.0.2.10:51515. Active connections: 1',
      'INFO [Client-192.0.2.10:51515] Command: GET a.txt',
      expect.stringMatching(/^INFO \[Client-192\.0\.2\.10:51515\] GET: Sent file - a.txt \(5 bytes/),
      'INFO [Client-192.0.2.10:51515] Command: QUIT',
      'INFO [Client-192.0.2.10:51515] Client 192.0.2.10:51515 requested disconnect',
      'INFO [main] Connection closed for 192.0.2.10:51515 (client quit). Active connections: 0',
    ]);
  });

  test("a balancer's own check (v2 LOCAL) is served as the balancer itself", async () => {
    const node = await startNode();
    const { conn, greeting } = await viaBalancer(node.server.port, v2({ command: 0, family: 0, transport: 0 }));
    expect(greeting).toMatchObject({ code: 200 });
    conn.close();
    await until(() => node.log.lines.some((l) => /^Connection closed/.test(l.message)), 'the close line');
    expect(node.log.lines[0].message).toMatch(/^New connection from 127\.0\.0\.2:\d+\./);
  });

  test('TLS after the header: the handshake and the whole session go through, under the client\'s address', async () => {
    const pair = await createSelfSigned({ hosts: ['localhost'] });
    const node = await startNode({ tls: { cert: pair.cert, key: pair.key } });
    const raw = await connectFrom(node.server.port, BALANCER);
    const header = v2Inet4('192.0.2.55', 50505);
    // The header in front of the ClientHello, in one write, as HAProxy sends them.
    let first = true;
    const carrier = new Duplex({
      write(chunk: Buffer, _encoding, callback) {
        raw.write(first ? Buffer.concat([header, chunk]) : chunk);
        first = false;
        callback();
      },
      final(callback) {
        raw.end();
        callback();
      },
      read() {},
    });
    raw.on('data', (d: Buffer) => carrier.push(d));
    raw.on('end', () => carrier.push(null));
    raw.on('error', () => undefined);
    const secure = tls.connect({ socket: carrier, servername: 'localhost', ca: pair.cert });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    expect(secure.authorized).toBe(true);
    const conn = RawConnection.over(secure);
    expect(await conn.frame()).toMatchObject({ type: 'connection', code: 200 });
    expect(await conn.request('LS')).toMatchObject({ code: 200, files: [] });
    conn.close();
    raw.destroy();
    expect(messages(node.log)).toContain('INFO [Client-192.0.2.55:50505] Command: LS');
  });

  test('stopping the listener does not wait for a balancer that never finishes its header', async () => {
    // A fake clock: the header timeout never fires, so only close() can end the socket.
    const node = await startNode({ clock: new FakeClock() });
    const socket = await connectFrom(node.server.port, BALANCER);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from('PROXY TCP4 198.51'));
    await until(() => node.server.openConnections === 0 && socket.bytesWritten > 0, 'the partial header sent');
    await node.server.close(500);
    await closed;
    expect(node.server.draining).toBe(true);
  });
});
