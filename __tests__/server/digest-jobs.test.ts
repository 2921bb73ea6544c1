/**
 * Issue 10, finding 6: with one hash worker and an unbounded queue, 20 slow
 * readers of a fresh big file queued 20 hash jobs, and a fast victim that
 * had all its bytes waited behind them for its digest until its stall timer
 * closed it. Now downloads of one file version share one job, a job nobody
 * waits for is cancelled, the queue is bounded (beyond it a download hashes
 * inline), and waiting for a digest is not a stall.
 *
 * Files are sparse (instant to make, read as zeros); their digests are
 * computed here. The hash worker's job counts are read from the server.
 */
import { createHash } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { HashWorker } from '../../src/core/hash-worker';
import { FakeClock } from '../../src/util/clock';
import { PullConnection } from '../helpers/pull-connection';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const zerosDigests = new Map<number, string>();

/** SHA-256 of `bytes` zero bytes, as a sparse file reads (remembered: the tests ask for few sizes). */
function zerosDigest(bytes: number): string {
  const known = zerosDigests.get(bytes);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(8 * MiB);
  for (let left = bytes; left > 0; left -= zeros.length) hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
  const digest = hash.digest('hex');
  zerosDigests.set(bytes, digest);
  return digest;
}

async function sparse(file: string, size: number): Promise<void> {
  await fs.writeFile(file, '');
  await fs.truncate(file, size);
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('downloads of a fresh big file against a real server', () => {
  let base: string;
  let server: FileServer;
  let log: MemoryLog;
  let clock: FakeClock;
  const open: PullConnection[] = [];

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-digests-'));
    log = new MemoryLog();
    clock = new FakeClock();
    server = await FileServer.start({
      root: base, host: '127.0.0.1', port: 0, log, clock,
      limits: { transferTimeoutMs: 60_000, maxConnectionsPerIp: 100, rateLimit: 0, shutdownGraceMs: 1_000 },
    });
  });

  afterEach(async () => {
    for (const conn of open.splice(0)) conn.close();
    await server.close(500);
    await fs.rm(base, { recursive: true, force: true });
  });

  async function connect(): Promise<PullConnection> {
    const { conn, greeting } = await PullConnection.open(server.port);
    open.push(conn);
    expect(greeting).toMatchObject({ code: 200 });
    return conn;
  }

  /** `count` clients that ask for `filename` and then read nothing more than its header. */
  async function slowReaders(count: number, filename: string, offset = 0): Promise<PullConnection[]> {
    const readers = await Promise.all(Array.from({ length: count }, () => connect()));
    for (const reader of readers) reader.command('GET', { filename, offset });
    for (const reader of readers) expect(await reader.frame(10_000)).toMatchObject({ code: 200 });
    return readers;
  }

  /** Download `filename` from `offset` as fast as possible and check its trailer against the zeros it holds. */
  async function fastDownload(conn: PullConnection, filename: string, size: number, offset = 0, whilePayloadDone?: () => Promise<void>) {
    expect(await conn.request('GET', { filename, offset })).toMatchObject({ code: 200, size, offset });
    const hash = createHash('sha256');
    await conn.consume(size - offset, (piece) => hash.update(piece), 60_000);
    await whilePayloadDone?.();
    const trailer = await conn.frame(60_000);
    const digest = hash.digest('hex');
    expect(digest).toBe(zerosDigest(size - offset));
    expect(trailer).toMatchObject({ type: 'transfer', code: 226, bytes: size - offset, sha256: digest });
  }

  it('shares one hash job among 20 slow readers and a fast victim, who gets its trailer', async () => {
    // A 1 GiB job ahead keeps the fresh file's job queued while all its
    // downloads ask for it; it is then cancelled by its reader leaving.
    await sparse(path.join(base, 'ahead.bin'), GiB);
    const [ahead] = await slowReaders(1, 'ahead.bin');
    const size = 256 * MiB;
    await sparse(path.join(base, 'fresh.bin'), size);
    const readers = await slowReaders(20, 'fresh.bin');
    const victim = await connect();
    victim.command('GET', { filename: 'fresh.bin' });
    expect(await victim.frame(10_000)).toMatchObject({ code: 200, size });
    // Every download of the fresh file asked the worker for the same digest: one job.
    expect(server.hashJobs).toMatchObject({ started: 1, shared: 20, refused: 0, completed: 0 });
    ahead.close();

    const hash = createHash('sha256');
    await victim.consume(size, (piece) => hash.update(piece), 60_000);
    expect(await victim.frame(60_000)).toMatchObject({ type: 'transfer', code: 226, bytes: size, sha256: zerosDigest(size) });
    expect(hash.digest('hex')).toBe(zerosDigest(size));
    expect(server.hashJobs).toMatchObject({ started: 2, shared: 20, completed: 1, cancelled: 1 });
    // The slow readers are still being served, in step.
    expect(readers.every((r) => !r.closed)).toBe(true);
    expect(log.lines.filter((l) => /stalled|Closing connection/.test(l.message))).toEqual([]);

    // The digest is now cached for this version: another download asks for no job.
    await slowReaders(1, 'fresh.bin');
    expect(server.hashJobs).toMatchObject({ started: 2, shared: 20 });
  });

  it('cancels the hash job once every download waiting for it has gone', async () => {
    const size = 2 * GiB;
    await sparse(path.join(base, 'fresh.bin'), size);
    const readers = await slowReaders(20, 'fresh.bin');
    expect(server.hashJobs).toMatchObject({ started: 1, shared: 19 });
    for (const reader of readers) reader.close();
    await until(() => server.hashJobs.cancelled === 1, 'the job cancelled');
    expect(server.hashJobs).toMatchObject({ started: 1, completed: 0, cancelled: 1 });
    await until(() => server.activeSessions === 0, 'the sessions gone');
    expect(log.lines.filter((l) => /Internal error|crashed|Session failed/.test(l.message))).toEqual([]);
  });

  it('does not count the wait for a digest as a stall', async () => {
    // The worker is busy with a slow reader's 900 MiB job; the victim's own
    // 32 MiB job waits behind it, so the victim has every byte long before
    // its digest. Then three transfer timeouts pass on the server's clock
    // (less than the idle timeout): the slow reader, whose payload stalled,
    // is cut (its job cancelled with it); the victim, waiting only for its
    // digest, is not.
    const size = 900 * MiB;
    await sparse(path.join(base, 'big.bin'), size);
    await slowReaders(1, 'big.bin');
    const victim = await connect();
    const victimLabel = `Client-127.0.0.1:${victim.socket.localPort}`;
    const offset = size - 32 * MiB;
    await fastDownload(victim, 'big.bin', size, offset, async () => {
      expect(server.hashJobs).toMatchObject({ started: 1, completed: 0 });
      clock.advance(3 * 60_000);
    });
    expect(victim.closed).toBe(false);
    expect(await victim.request('STAT', { filename: 'big.bin' })).toMatchObject({ code: 200 });
    expect(server.hashJobs).toMatchObject({ started: 2, completed: 1, cancelled: 1, refused: 0 });
    const stalls = log.lines.filter((l) => l.message.startsWith('Closing connection'));
    expect(stalls).toHaveLength(1);
    expect(stalls[0].label).not.toBe(victimLabel);
  });

  it('hashes inline instead of queueing when more than the bound of hashing waits ahead', async () => {
    await sparse(path.join(base, 'huge.bin'), 2 * GiB);
    await sparse(path.join(base, 'other.bin'), 48 * MiB);
    const [huge] = await slowReaders(1, 'huge.bin');
    expect(server.hashJobs).toMatchObject({ started: 1, completed: 0 });
    const victim = await connect();
    await fastDownload(victim, 'other.bin', 48 * MiB);
    expect(server.hashJobs).toMatchObject({ started: 1, refused: 1 });
    huge.close();
    await until(() => server.hashJobs.cancelled === 1, 'the 2 GiB job cancelled');
  });
});

describe('HashWorker', () => {
  let base: string;
  let worker: HashWorker;
  const handles: FileHandle[] = [];

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-hash-worker-'));
  });

  afterEach(async () => {
    await worker.close();
    for (const handle of handles.splice(0)) await handle.close();
    await fs.rm(base, { recursive: true, force: true });
  });

  async function openSparse(name: string, size: number): Promise<FileHandle> {
    const file = path.join(base, name);
    await sparse(file, size);
    const handle = await fs.open(file, 'r');
    handles.push(handle);
    return handle;
  }

  it('shares a job between requests for the same bytes, and keeps separate ranges apart', async () => {
    worker = new HashWorker();
    const a = await openSparse('a.bin', 20 * MiB);
    const b = await fs.open(path.join(base, 'a.bin'), 'r');
    handles.push(b);
    const first = worker.request('v1', a.fd, 0, 20 * MiB)!;
    const second = worker.request('v1', b.fd, 0, 20 * MiB)!;
    const ranged = worker.request('v1', b.fd, MiB, 20 * MiB)!;
    expect(await first.digest).toBe(zerosDigest(20 * MiB));
    expect(await second.digest).toBe(zerosDigest(20 * MiB));
    expect(await ranged.digest).toBe(zerosDigest(19 * MiB));
    expect(worker.counts).toEqual({ started: 2, completed: 2, cancelled: 0, shared: 1, refused: 0 });
  });

  it('drops a queued job whose only waiter leaves, and keeps one another still waits for', async () => {
    worker = new HashWorker();
    const big = await openSparse('big.bin', 256 * MiB);
    const small = await openSparse('small.bin', 20 * MiB);
    const running = worker.request('big', big.fd, 0, 256 * MiB)!;
    const alone = worker.request('alone', small.fd, 0, 20 * MiB)!;
    const kept = worker.request('kept', small.fd, MiB, 20 * MiB)!;
    const keptToo = worker.request('kept', small.fd, MiB, 20 * MiB)!;
    // Both are queued behind the first job: leaving now never lets them start.
    await alone.leave();
    await keptToo.leave();
    await expect(alone.digest).rejects.toThrow('hashing cancelled');
    expect(await kept.digest).toBe(zerosDigest(19 * MiB));
    expect(await running.digest).toBe(zerosDigest(256 * MiB));
    expect(worker.counts).toMatchObject({ started: 2, completed: 2, cancelled: 1, shared: 1 });
  });

  it('stops a running job whose waiters all left, and frees the descriptor only once it has', async () => {
    worker = new HashWorker();
    const big = await openSparse('big.bin', 4 * GiB);
    const ticket = worker.request('big', big.fd, 0, 4 * GiB)!;
    await ticket.leave();
    // leave() resolved: the worker has stopped reading through the descriptor.
    expect(worker.counts).toMatchObject({ started: 1, completed: 0, cancelled: 1 });
    await expect(ticket.digest).rejects.toThrow('hashing cancelled');
    // The worker is free for the next job.
    const next = worker.request('next', big.fd, 0, MiB)!;
    expect(await next.digest).toBe(zerosDigest(MiB));
  });

  it('refuses a new job while more than its bound of hashing is queued, never one it can join', async () => {
    worker = new HashWorker(64 * MiB);
    const file = await openSparse('f.bin', 100 * MiB);
    const first = worker.request('a', file.fd, 0, 100 * MiB)!;
    expect(worker.request('b', file.fd, 0, 10 * MiB)).toBeUndefined();
    const joined = worker.request('a', file.fd, 0, 100 * MiB);
    expect(joined).toBeDefined();
    expect(await joined!.digest).toBe(await first.digest);
    // Once the queue is empty, any job is taken, however big.
    expect(worker.request('c', file.fd, 0, 100 * MiB)).toBeDefined();
    expect(worker.counts).toMatchObject({ refused: 1, shared: 1 });
  });
});
