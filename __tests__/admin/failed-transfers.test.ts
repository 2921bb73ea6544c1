/**
 * /metrics after transfers that fail or are abandoned: the transfer
 * counters and the byte counters move by exactly what those transfers
 * moved, and by nothing for requests refused before any byte moves.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdminServer } from '../../src/admin/admin-server';
import { METRIC_NAMES, MetricsObserver } from '../../src/admin/metrics';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';
import { parseMetrics, request, valueOf, waitFor } from './admin-helpers';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let root: string;
let log: MemoryLog;
let server: FileServer;
let admin: AdminServer;
let metrics: MetricsObserver;
const connections: RawConnection[] = [];

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-failed-'));
  metrics = new MetricsObserver({ defaultMetrics: false });
  log = new MemoryLog();
  server = await FileServer.start({ root, host: '127.0.0.1', port: 0, observer: metrics, log, limits: { maxUploadSize: 4 * MiB } });
  admin = await AdminServer.start({ target: server, metrics, port: 0 });
});

afterEach(async () => {
  for (const conn of connections.splice(0)) conn.close();
  await server.close(1_000);
  await admin.close();
  await fs.rm(root, { recursive: true, force: true });
});

async function open(): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(server.port);
  connections.push(conn);
  expect(greeting.code).toBe(200);
  return conn;
}

/** The transfer-related figures of /metrics, once no transfer is in flight. */
async function counters(): Promise<Record<string, number>> {
  return waitFor(async () => {
    const answer = await request(admin.port, '/metrics');
    expect(answer.status).toBe(200);
    const s = parseMetrics(answer.body);
    if (valueOf(s, METRIC_NAMES.transfersInFlight) !== 0) return undefined;
    const transfers = (direction: string, result: string) => valueOf(s, METRIC_NAMES.transfers, { direction, result });
    // A histogram has no series for a direction until its first observation.
    const timed = (direction: string) =>
      s.find((x) => x.name === `${METRIC_NAMES.transferDuration}_count` && x.labels.direction === direction)?.value ?? 0;
    return {
      uploadOk: transfers('upload', 'ok'),
      uploadFailed: transfers('upload', 'failed'),
      downloadOk: transfers('download', 'ok'),
      downloadFailed: transfers('download', 'failed'),
      bytesSent: valueOf(s, METRIC_NAMES.bytesSent),
      bytesReceived: valueOf(s, METRIC_NAMES.bytesReceived),
      uploadTimed: timed('upload'),
      downloadTimed: timed('download'),
    };
  }, 10_000);
}

/** Run `step`, then check every figure moved by exactly `moves` (absent: by 0). */
async function expectMoves(step: () => Promise<void>, moves: Record<string, number>): Promise<void> {
  const before = await counters();
  await step();
  const after = await counters();
  const delta = Object.fromEntries(Object.keys(before).map((key) => [key, after[key] - before[key]]));
  expect(delta).toEqual({ ...Object.fromEntries(Object.keys(before).map((key) => [key, 0])), ...moves });
}

/** Pause reading after the first payload chunk; returns how many bytes have arrived. */
function holdAfterFirstChunk(conn: RawConnection): { received(): number; release(): void } {
  let received = 0;
  const hold = (chunk: Buffer) => {
    received += chunk.length;
    conn.socket.pause();
  };
  conn.socket.on('data', hold);
  return {
    received: () => received,
    release() {
      conn.socket.off('data', hold);
      conn.socket.resume();
    },
  };
}

describe('failed uploads', () => {
  it('count the bytes that arrived before the client went away, and nothing lands', async () => {
    await fs.writeFile(path.join(root, 'keep.txt'), 'old');
    await expectMoves(async () => {
      const conn = await open();
      expect(await conn.request('PUT', { filename: 'keep.txt', size: 3 * MiB })).toMatchObject({ code: 150 });
      conn.write(Buffer.alloc(1_234_567, 0x61));
      // A half-close after the bytes: every one of them reaches the server, then the end.
      conn.socket.end();
      await conn.waitClosed();
    }, { uploadFailed: 1, uploadTimed: 1, bytesReceived: 1_234_567 });
    expect(log.lines.some((l) => l.message.startsWith('PUT: Failed to receive file - keep.txt (1234567 of 3145728 bytes'))).toBe(true);
    await waitFor(async () => ((await fs.readdir(root)).length === 1 ? true : undefined));
    expect(await fs.readFile(path.join(root, 'keep.txt'), 'utf8')).toBe('old');
  });

  it('count every byte of an upload refused for a wrong digest, and the session goes on', async () => {
    const payload = randomBytes(100_001);
    const conn = await open();
    await expectMoves(async () => {
      expect(await conn.request('PUT', { filename: 'bad.bin', size: payload.length, sha256: sha256('something else') })).toMatchObject({ code: 150 });
      conn.write(payload);
      expect(await conn.frame()).toMatchObject({ code: 422 });
    }, { uploadFailed: 1, uploadTimed: 1, bytesReceived: payload.length });
    // The next upload on the same connection succeeds and counts as ok.
    await expectMoves(async () => {
      expect(await conn.request('PUT', { filename: 'good.bin', size: payload.length, sha256: sha256(payload) })).toMatchObject({ code: 150 });
      conn.write(payload);
      expect(await conn.frame()).toMatchObject({ code: 226 });
    }, { uploadOk: 1, uploadTimed: 1, bytesReceived: payload.length });
    expect(await fs.readdir(root)).toEqual(['good.bin']);
  });

  it('count nothing when refused before any byte moves', async () => {
    const conn = await open();
    await expectMoves(async () => {
      expect(await conn.request('PUT', { filename: 'huge.bin', size: 4 * MiB + 1 })).toMatchObject({ code: 413 });
      expect(await conn.request('PUT', { filename: 'no/such/folder.bin', size: 5 })).toMatchObject({ code: 404 });
      expect(await conn.request('PUT', { filename: 'x.bin', size: -1 })).toMatchObject({ code: 400 });
    }, {});
  });
});

describe('failed downloads', () => {
  it('count exactly the bytes sent before the file shrank under them', async () => {
    const file = path.join(root, 'shrinks.bin');
    await fs.writeFile(file, randomBytes(32 * MiB));
    const conn = await open();
    await expectMoves(async () => {
      const held = holdAfterFirstChunk(conn);
      conn.command('GET', { filename: 'shrinks.bin' });
      expect(await conn.frame()).toMatchObject({ code: 200, size: 32 * MiB });
      await waitFor(() => (metrics.snapshot().transfersInFlight === 1 && held.received() > 0 ? true : undefined));
      // In place, on the inode the server has open: its reads end at 16 MiB.
      await fs.truncate(file, 16 * MiB);
      held.release();
      await conn.waitClosed(30_000);
    }, { downloadFailed: 1, downloadTimed: 1, bytesSent: 16 * MiB });
    expect(log.lines.some((l) => l.message.startsWith('GET: Failed to send file - shrinks.bin (16777216 of 33554432 bytes') && l.message.endsWith('file shrank during download)'))).toBe(true);
  });

  it('count what was sent before the client went away, no more than the file and no less than the client got', async () => {
    await fs.writeFile(path.join(root, 'big.bin'), randomBytes(32 * MiB));
    const conn = await open();
    const before = await counters();
    const held = holdAfterFirstChunk(conn);
    conn.command('GET', { filename: 'big.bin' });
    expect(await conn.frame()).toMatchObject({ code: 200, size: 32 * MiB });
    await waitFor(() => (metrics.snapshot().transfersInFlight === 1 && held.received() > 0 ? true : undefined));
    const got = held.received();
    conn.close();
    const after = await counters();

    // The server's own account of the bytes, from its log line.
    const line = await waitFor(() => log.lines.find((l) => l.message.startsWith('GET: Failed to send file - big.bin (')));
    const sent = Number(/\((\d+) of 33554432 bytes/.exec(line.message)![1]);
    expect(sent).toBeGreaterThanOrEqual(got);
    expect(sent).toBeLessThan(32 * MiB);
    expect(after.bytesSent - before.bytesSent).toBe(sent);
    expect(after.downloadFailed - before.downloadFailed).toBe(1);
    expect(after.downloadOk - before.downloadOk).toBe(0);
    expect(after.downloadTimed - before.downloadTimed).toBe(1);
    expect(after.bytesReceived - before.bytesReceived).toBe(0);
  });

  it('count nothing for a GET refused before its payload', async () => {
    await fs.writeFile(path.join(root, 'small.txt'), 'hello');
    await fs.mkdir(path.join(root, 'folder'));
    const conn = await open();
    await expectMoves(async () => {
      expect(await conn.request('GET', { filename: 'missing.txt' })).toMatchObject({ code: 404 });
      expect(await conn.request('GET', { filename: 'folder' })).toMatchObject({ code: 409 });
      expect(await conn.request('GET', { filename: '../outside' })).toMatchObject({ code: 400 });
      expect(await conn.request('GET', { filename: 'small.txt', offset: 6 })).toMatchObject({ code: 416 });
    }, {});
    // And a whole one moves exactly its size.
    await expectMoves(async () => {
      expect(await conn.request('GET', { filename: 'small.txt' })).toMatchObject({ code: 200, size: 5 });
      expect((await conn.bytes(5)).toString()).toBe('hello');
      expect(await conn.frame()).toMatchObject({ code: 226, sha256: sha256('hello') });
    }, { downloadOk: 1, downloadTimed: 1, bytesSent: 5 });
  });
});
