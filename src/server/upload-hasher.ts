import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of uploads on worker threads, so the event loop only reads the
 * socket and hands bytes on. Chunks travel to a thread and back by transfer
 * of their `ArrayBuffer`s: the thread hashes the very memory the socket read
 * into, nothing is copied either way, and the caller writes the returned
 * chunks to disk once hashed. Hashing before writing (not after) matters: a
 * sink may keep a chunk after its write callback (a stream that buffers
 * parts), so a chunk must never be taken from the caller once written.
 *
 * The worker's source is inline so that it runs the same from `dist/` and
 * under ts-jest.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = hashes.get(m.id);
    if (!hash) {
      hash = createHash('sha256');
      hashes.set(m.id, hash);
    }
    for (const buffer of m.buffers) hash.update(new Uint8Array(buffer));
    parentPort.postMessage({ op: 'hashed', id: m.id, buffers: m.buffers }, m.buffers);
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, digest: hash.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  } else if (m.op === 'crash') {
    throw new Error('hash thread crashed on request');
  }
});
`;

/** Threads to hash on: half the cores (the event loop and disk writes need the rest), 1 to 4. */
export function defaultHashThreads(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

/** The hash of one upload in progress, fed in order. */
export interface UploadDigest {
  /**
   * Hash `chunks` after everything given before. The hasher takes the
   * chunks: their memory moves to the hash thread (a chunk that does not
   * own its whole `ArrayBuffer` is copied first) and comes back as the
   * returned buffers, same bytes, same order. Rejects if the thread died.
   */
  update(chunks: Buffer[]): Promise<Buffer[]>;
  /** Hex SHA-256 of every byte given, once all updates are hashed. Ends this digest. */
  digest(): Promise<string>;
  /** Forget this upload's state (an aborted upload); idempotent. */
  cancel(): void;
}

/** What a thread owes one upload: answers to its updates and digest, in order. */
interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One worker thread and the uploads pinned to it. */
class HashThread {
  readonly worker: Worker;
  /** Uploads pinned here, each with the answers it still waits for, oldest first. */
  readonly uploads = new Map<number, Waiter[]>();
  /** Set once the thread has failed: its uploads fail, new ones go elsewhere. */
  failure: Error | undefined;
  private waiting = 0;

  constructor(onGone: (thread: HashThread) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // Only a job in flight keeps the worker (and so the process) alive.
    this.worker.unref();
    this.worker.on('message', (reply: { id: number; buffers?: ArrayBuffer[]; digest?: string }) => {
      // Every request gets one answer; a cancelled upload's are dropped here.
      if (--this.waiting === 0) this.worker.unref();
      this.uploads.get(reply.id)?.shift()?.resolve(reply.buffers ?? reply.digest);
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

  /** Send a request whose answer `id` waits for, in order. */
  ask(id: number, message: object, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const waiters = this.uploads.get(id);
    if (!waiters) return Promise.reject(new Error('upload digest already finished'));
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject });
      if (this.waiting++ === 0) this.worker.ref();
      this.worker.postMessage(message, transfer);
    });
  }
}

/** A chunk as an `ArrayBuffer` of its own, copied only if it shares one. */
function ownBuffer(chunk: Buffer): ArrayBuffer {
  const whole = chunk.buffer;
  if (whole instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === whole.byteLength) return whole;
  const copy = new Uint8Array(chunk.byteLength);
  copy.set(chunk);
  return copy.buffer;
}

/**
 * A small pool of hash threads shared by every upload of a server. Each
 * upload is pinned to the thread with the fewest uploads, so its updates are
 * hashed in order; threads start on first use and a failed one is replaced
 * for later uploads (the uploads it held fail).
 */
export class UploadHasher {
  private readonly threads: HashThread[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly maxThreads: number = defaultHashThreads()) {}

  /** Start the hash of one upload. */
  begin(): UploadDigest {
    if (this.closed) throw new Error('upload hasher closed');
    const thread = this.pick();
    const id = this.nextId++;
    thread.uploads.set(id, []);
    let finished = false;
    const finish = () => {
      finished = true;
    };
    return {
      update: async (chunks) => {
        if (finished) throw new Error('upload digest already finished');
        const buffers = chunks.filter((chunk) => chunk.byteLength > 0).map(ownBuffer);
        const back = (await thread.ask(id, { op: 'update', id, buffers }, buffers)) as ArrayBuffer[];
        return back.map((buffer) => Buffer.from(buffer));
      },
      digest: async () => {
        if (finished) throw new Error('upload digest already finished');
        finish();
        try {
          return (await thread.ask(id, { op: 'digest', id })) as string;
        } finally {
          thread.uploads.delete(id);
        }
      },
      cancel: () => {
        if (finished) return;
        finish();
        // Answers still owed to this upload are not awaited by anyone now.
        const waiters = thread.uploads.get(id) ?? [];
        thread.uploads.delete(id);
        for (const waiter of waiters) waiter.reject(new Error('upload digest cancelled'));
        if (!thread.failure) thread.worker.postMessage({ op: 'drop', id });
      },
    };
  }

  /** Threads running now (for tests and status). */
  get threadCount(): number {
    return this.threads.length;
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
