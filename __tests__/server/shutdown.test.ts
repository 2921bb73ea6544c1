/**
 * Shutdown on an in-process server: what a grace period that runs out does
 * to transfers still in flight, and what a client that knocks during the
 * drain gets. (The real CLI's signals are in __tests__/cli/shutdown.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { AdminServer } from '../../src/admin/admin-server';
import { METRIC_NAMES, MetricsObserver } from '../../src/admin/metrics';
import { createSelfSigned } from '../../src/auth/self-signed';
import { MemoryLog } from '../../src/logging/log';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { FileServer } from '../../src/server/file-server';
import type { TlsCredentials } from '../../src/server/file-server';
import { parseMetrics, request, valueOf, waitFor } from '../admin/admin-helpers';
import { RawConnection } from '../helpers/raw-connection';

jest.setTimeout(60_000);

let base: string;
let root: string;
let log: MemoryLog;
let metrics: MetricsObserver;
let server: FileServer;
let admin: AdminServer | undefined;
const cleanup: Array<() => void> = [];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-shutdown-'));
  root = path.join(base, 'root');
  await fs.mkdir(root);
  log = new MemoryLog();
  metrics = new MetricsObserver({ defaultMetrics: false });
});

afterEach(async () => {
  for (const undo of cleanup.splice(0)) undo();
  await server?.close(500);
  await admin?.close();
  admin = undefined;
  await fs.rm(base, { recursive: true, force: true });
});

async function start(tlsCredentials?: TlsCredentials): Promise<void> {
  server = await FileServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    log,
    observer: metrics,
    limits: { shutdownGraceMs: 30_000 },
    ...(tlsCredentials ? { tls: tlsCredentials } : {}),
  });
  admin = await AdminServer.start({ target: server, metrics, port: 0 });
}

async function open(): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(server.port);
  cleanup.push(() => conn.close());
  expect(greeting.code).toBe(200);
  return conn;
}

/** Entries of the root other than `name`: the upload's hidden temp file while it runs. */
async function others(name: string): Promise<string[]> {
  return (await fs.readdir(root)).filter((entry) => entry !== name);
}

async function sizeOfTemp(name: string): Promise<number> {
  const [temp] = await others(name);
  if (temp === undefined) return -1;
  return (await fs.stat(path.join(root, temp)).catch(() => ({ size: -1 }))).size;
}

describe('a grace period that runs out', () => {
  it('lets transfers go on during the grace, then cuts them: temp file removed, target untouched', async () => {
    await start();
    const original = 'the original content\n';
    await fs.writeFile(path.join(root, 'keep.txt'), original);
    const big = randomBytes(32 * 1024 * 1024);
    await fs.writeFile(path.join(root, 'big.bin'), big);

    const idle = await open();
    // An upload with part of its payload sent.
    const uploader = await open();
    expect(await uploader.request('PUT', { filename: 'keep.txt', size: 1_000_000 })).toMatchObject({ code: 150 });
    uploader.write(Buffer.alloc(300_000, 0x75));
    await waitFor(async () => ((await sizeOfTemp('keep.txt')) === 300_000 ? true : undefined));
    // A download whose reader has stopped reading.
    const downloader = await open();
    downloader.command('GET', { filename: 'big.bin' });
    expect(await downloader.frame()).toMatchObject({ code: 200, size: big.length });
    downloader.socket.pause();
    await waitFor(() => (metrics.snapshot().transfersInFlight === 2 ? true : undefined));

    const graceMs = 1_500;
    const began = performance.now();
    const closing = server.close(graceMs);
    // The idle session goes at once; the transfers are not cut yet: the upload still lands bytes.
    await idle.waitClosed();
    uploader.write(Buffer.alloc(200_000, 0x76));
    await waitFor(async () => ((await sizeOfTemp('keep.txt')) === 500_000 ? true : undefined));
    expect(uploader.closed).toBe(false);
    expect(downloader.closed).toBe(false);

    await uploader.waitClosed(20_000);
    // A timer never fires early; allow for the millisecond rounding of timers.
    expect(performance.now() - began).toBeGreaterThanOrEqual(graceMs - 5);
    downloader.socket.resume();
    await downloader.waitClosed(20_000);
    await closing;

    expect(log.lines.some((l) => l.level === 'WARNING' && l.message === 'Grace period of 1.5 s over; closing 2 connection(s)')).toBe(true);
    expect(log.lines.filter((l) => l.level === 'WARNING' && l.message === 'Closing connection: server terminated')).toHaveLength(2);
    expect(log.lines.some((l) => l.level === 'ERROR' && l.message.startsWith('PUT: Failed to receive file - keep.txt (500000 of 1000000 bytes'))).toBe(true);
    expect(log.lines.some((l) => l.level === 'ERROR' && l.message.startsWith(`GET: Failed to send file - big.bin (`))).toBe(true);
    // The temp file goes once the upload has unwound; the target never changed.
    await waitFor(async () => ((await others('keep.txt')).join() === 'big.bin' ? true : undefined));
    expect(await fs.readFile(path.join(root, 'keep.txt'), 'utf8')).toBe(original);
    expect(metrics.snapshot()).toMatchObject({
      transfersInFlight: 0,
      uploads: { ok: 0, failed: 1 },
      downloads: { ok: 0, failed: 1 },
      bytesReceived: 500_000,
    });
    expect(log.lines.some((l) => l.level === 'INFO' && l.message === 'Server stopped')).toBe(true);
  });
});

describe('knocking during the drain', () => {
  /** What a plain client gets: refused, closed without a greeting, or a greeting. */
  function knock(port: number): Promise<'refused' | 'closed without greeting' | 'greeted'> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => finish('closed without greeting'), 5_000);
      const finish = (outcome: 'refused' | 'closed without greeting' | 'greeted') => {
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      socket.once('data', () => finish('greeted'));
      socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'closed without greeting'));
      socket.once('close', () => finish('closed without greeting'));
    });
  }

  it('gives a new plain connection no service while a transfer holds the drain open', async () => {
    await start();
    const conn = await open();
    expect(await conn.request('PUT', { filename: 'slow.bin', size: 10 })).toMatchObject({ code: 150 });
    conn.write('abc');
    await waitFor(() => (metrics.snapshot().transfersInFlight === 1 ? true : undefined));
    const { port } = server;
    const closing = server.close(30_000);
    await waitFor(async () => ((await request(admin!.port, '/healthz')).status === 503 ? true : undefined));

    expect(['refused', 'closed without greeting']).toContain(await knock(port));
    expect(metrics.snapshot().connectionsAccepted).toBe(1);
    expect(server.activeSessions).toBe(1);

    // The transfer in flight is still served to its end.
    conn.write('defghij');
    expect(await conn.frame()).toMatchObject({ code: 226, bytes_received: 10 });
    await closing;
    expect(await fs.readFile(path.join(root, 'slow.bin'), 'utf8')).toBe('abcdefghij');
  });

  it('counts a TLS client whose handshake ends during the drain as refused for draining, and never greets it', async () => {
    const pair = await createSelfSigned();
    await start({ cert: pair.cert, key: pair.key });
    // The TLS client talks through this relay, which holds its bytes after
    // the ClientHello: the server is then mid-handshake, and its session
    // (which starts only once the handshake is done) cannot start before the drain.
    const raw = net.connect({ host: '127.0.0.1', port: server.port });
    cleanup.push(() => raw.destroy());
    raw.on('error', () => undefined);
    let held: Buffer[] | undefined;
    let serverSpoke = false;
    const relay = new Duplex({
      write(chunk: Buffer, _encoding, done) {
        if (held) held.push(chunk);
        else {
          raw.write(chunk);
          held = [];
        }
        done();
      },
      read() {},
    });
    raw.on('data', (chunk: Buffer) => {
      serverSpoke = true;
      relay.push(chunk);
    });
    raw.on('close', () => relay.destroy());
    const secure = tls.connect({ socket: relay, ca: pair.cert, servername: 'localhost' });
    cleanup.push(() => secure.destroy());
    secure.on('error', () => undefined);
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    let frames = 0;
    secure.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      while (decoder.next()) frames += 1;
    });
    const secureClosed = new Promise<void>((resolve) => secure.once('close', () => resolve()));
    // The server answered the ClientHello, and the client's reply is held.
    await waitFor(() => (serverSpoke && held !== undefined && held.length > 0 ? true : undefined));

    const closing = server.close(30_000);
    await waitFor(async () => ((await request(admin!.port, '/healthz')).status === 503 ? true : undefined));
    for (const chunk of held!) raw.write(chunk);
    await secureClosed;
    await closing;

    expect(frames).toBe(0);
    const samples = parseMetrics((await request(admin!.port, '/metrics')).body);
    expect(valueOf(samples, METRIC_NAMES.connections, { result: 'draining' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.connections, { result: 'accepted' })).toBe(0);
    expect(log.lines.some((l) => /New connection/.test(l.message))).toBe(false);
  });
});
