import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of uploads on worker threads, so the event loop only reads the
 * socket, writes each chunk and copies it once into shared memory. Each
 * upload gets a ring of slots in a `SharedArrayBuffer` that its hash thread
 * reads directly: the event loop fills a slot, the thread hashes it while
 * the loop fills the next, and the slot is refilled once hashed. Only a slot
 * number crosses between threads, never the bytes.
 *
 * (Handing the socket's own buffers over by transfer was measured too: it
 * spares the copy but costs more than it in message serialisation and in
 * garbage-collector work on both threads; see docs/BENCHMARKS.md.)
 *
 * The worker's source is inline so that it runs the same from `dist/` and
 * under ts-jest.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const rings = new Map();
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'slot') {
    let hash = hashes.get(m.id);
    if (!hash) {
      hash = createHash('sha256');
      hashes.set(m.id, hash);
    }
    hash.update(rings.get(m.ring).subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ id: m.id });
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: hash.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  } else if (m.op === 'ring') {
    rings.set(m.ring, new Uint8Array(m.memory));
  } else if (m.op === 'crash') {
    throw new Error('hash thread crashed on request');
  }
});
`;

/** Bytes per ring slot: one disk write and one hash step each. */
export const RING_SLOT_BYTES = 1024 * 1024;

/**
 * Slots per ring: enough that the hash thread always has one queued while
 * the socket fills another, few enough to bound an upload's memory (6 MiB).
 */
export const RING_SLOTS = 6;

/** Idle rings a thread keeps for its next uploads (their pages are already mapped). */
const IDLE_RINGS_KEPT = 2;

/**
 * Threads to hash uploads on by default: none on two cores or fewer, else
 * half the cores beyond the event loop's, at most 4. On a 2-core machine the
 * event loop, the disk writes and the client already keep both cores busy; a
 * hash thread there was measured to cost 16 % more CPU per byte and 6 % of
 * the throughput (docs/BENCHMARKS.md), so uploads are hashed inline.
 */
export function defaultHashThreads(cores: number = availableParallelism()): number {
  return cores <= 2 ? 0 : Math.min(4, Math.max(1, Math.floor((cores - 1) / 2)));
}

/** Shared memory one upload fills and its hash thread reads. */
export interface HashRing {
  /** All slots, back to back: slot `i` is `[i * slotBytes, (i + 1) * slotBytes)`. */
  readonly memory: Buffer;
  readonly slotBytes: number;
  readonly slots: number;
}

/** The hash of one upload in progress, fed slot by slot, in order. */
export interface UploadDigest {
  readonly ring: HashRing;
  /**
   * Hash the first `length` bytes of `slot` after everything given before.
   * Resolves once hashed (the thread no longer reads the slot); rejects if
   * the thread died.
   */
  update(slot: number, length: number): Promise<void>;
  /** Hex SHA-256 of every byte given, once all updates are hashed. Ends this digest. */
  digest(): Promise<string>;
  /** Forget this upload's hash state (an aborted upload); idempotent. */
  cancel(): void;
  /**
   * Give the ring back for another upload. Call it only when nothing reads
   * it any more (no write in flight); an upload that cannot be sure simply
   * never calls it and the ring is garbage-collected.
   */
  releaseRing(): void;
}

/** What a thread owes one upload: answers to its updates and digest, in order. */
interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface PooledRing extends HashRing {
  readonly key: number;
}

/** One worker thread, the uploads pinned to it and the rings it can read. */
class HashThread {
  readonly worker: Worker;
  /** Uploads pinned here, each with the answers it still waits for, oldest first. */
  readonly uploads = new Map<number, Waiter[]>();
  /** Set once the thread has failed: its uploads fail, new ones go elsewhere. */
  failure: Error | undefined;
  private readonly idleRings: PooledRing[] = [];
  private nextRing = 0;
  private waiting = 0;

  constructor(onGone: (thread: HashThread) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // Only a job in flight keeps the worker (and so the process) alive.
    this.worker.unref();
    this.worker.on('message', (reply: { id: number; digest?: string }) => {
      // Every request gets one answer; a cancelled upload's are dropped here.
      if (--this.waiting === 0) this.worker.unref();
      this.uploads.get(reply.id)?.shift()?.resolve(reply.digest);
    });
    const fail = (err: Error) => {
      if (this.failure) return;
      this.failure = err;
      onGone(this);
      for (const waiters of this.uploads.values()) {
        for (const waiter of waiters.splice(0)) waiter.reject(err);
      }
      this.waiting = 0;
      this.worker.unref();
    };
    this.worker.on('error', (err) => fail(err));
    this.worker.on('exit', (code) => fail(new Error(`hash thread exited (code ${code})`)));
  }

  /** A ring this thread can read: an idle one, or a new one made known to it. */
  takeRing(): PooledRing {
    const idle = this.idleRings.pop();
    if (idle) return idle;
    const shared = new SharedArrayBuffer(RING_SLOT_BYTES * RING_SLOTS);
    const ring: PooledRing = { key: this.nextRing++, memory: Buffer.from(shared), slotBytes: RING_SLOT_BYTES, slots: RING_SLOTS };
    this.worker.postMessage({ op: 'ring', ring: ring.key, memory: shared });
    return ring;
  }

  giveBackRing(ring: PooledRing): void {
    if (!this.failure && this.idleRings.length < IDLE_RINGS_KEPT) this.idleRings.push(ring);
  }

  /** Send a request whose answer upload `id` waits for, in order. */
  ask(id: number, message: object): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const waiters = this.uploads.get(id);
    if (!waiters) return Promise.reject(new Error('upload digest already finished'));
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject });
      if (this.waiting++ === 0) this.worker.ref();
      this.worker.postMessage(message);
    });
  }
}

/**
 * A small pool of hash threads shared by every upload of a server. Each
 * upload is pinned to the thread with the fewest uploads, so its slots are
 * hashed in order; threads start on first use and a failed one is replaced
 * for later uploads (the uploads it held fail).
 */
export class UploadHasher {
  private readonly threads: HashThread[] = [];
  private nextId = 0;
  private closed = false;
  private hashedSlots = 0;

  /** @param maxThreads threads to hash on; 0 hashes every upload inline. */
  constructor(private readonly maxThreads: number = defaultHashThreads()) {}

  /** Whether uploads are hashed on threads at all. */
  get enabled(): boolean {
    return this.maxThreads > 0 && !this.closed;
  }

  /** Start the hash of one upload. */
  begin(): UploadDigest {
    if (this.closed) throw new Error('upload hasher closed');
    const thread = this.pick();
    const ring = thread.takeRing();
    const id = this.nextId++;
    thread.uploads.set(id, []);
    let finished = false;
    let ringReleased = false;
    return {
      ring,
      update: async (slot, length) => {
        if (finished) throw new Error('upload digest already finished');
        await thread.ask(id, { op: 'slot', id, ring: ring.key, offset: slot * ring.slotBytes, length });
        this.hashedSlots += 1;
      },
      digest: async () => {
        if (finished) throw new Error('upload digest already finished');
        finished = true;
        try {
          return (await thread.ask(id, { op: 'digest', id })) as string;
        } finally {
          thread.uploads.delete(id);
        }
      },
      cancel: () => {
        if (finished) return;
        finished = true;
        // Answers still owed to this upload are awaited by no one now.
        const waiters = thread.uploads.get(id) ?? [];
        thread.uploads.delete(id);
        for (const waiter of waiters) waiter.reject(new Error('upload digest cancelled'));
        if (!thread.failure) thread.worker.postMessage({ op: 'drop', id });
      },
      releaseRing: () => {
        if (ringReleased) return;
        ringReleased = true;
        thread.giveBackRing(ring);
      },
    };
  }

  /**
   * Threads running now, uploads begun and slots hashed so far, and uploads
   * a thread holds state for right now (for tests and status).
   */
  get stats(): { threads: number; uploads: number; slots: number; active: number } {
    let active = 0;
    for (const thread of this.threads) active += thread.uploads.size;
    return { threads: this.threads.length, uploads: this.nextId, slots: this.hashedSlots, active };
  }

  /**
   * @internal Make every running hash thread fail as if it had crashed, to
   * test that the uploads it held fail cleanly.
   */
  crashThreadsForTesting(): void {
    for (const thread of this.threads) thread.worker.postMessage({ op: 'crash' });
  }

  /** Stop every thread; uploads still hashing fail. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private pick(): HashThread {
    let best: HashThread | undefined;
    for (const thread of this.threads) {
      if (!best || thread.uploads.size < best.uploads.size) best = thread;
    }
    if (best && (best.uploads.size === 0 || this.threads.length >= this.maxThreads)) return best;
    const thread = new HashThread((gone) => {
      const at = this.threads.indexOf(gone);
      if (at >= 0) this.threads.splice(at, 1);
    });
    this.threads.push(thread);
    return thread;
  }
}
