import { Worker } from 'node:worker_threads';
import { HASH_QUEUE_MAX_BYTES } from '../config/defaults';

/**
 * Hashes a byte range of an open file on a worker thread, reading the file
 * through a descriptor it is lent. A large download then sends on the event
 * loop while its SHA-256 is computed on the other core, instead of the hash
 * capping the transfer at one core's hashing speed.
 *
 * The worker's source is inline so that it runs the same from `dist/` and
 * under ts-jest. It checks a shared cancel flag before every read, so a job
 * nobody waits for any more stops within one chunk.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1024 * 1024);
parentPort.on('message', ({ id, fd, start, end, cancel }) => {
  try {
    const hash = createHash('sha256');
    let position = start;
    while (position < end) {
      if (Atomics.load(cancel, 0) !== 0) {
        parentPort.postMessage({ id, cancelled: true });
        return;
      }
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
      if (n === 0) throw new Error('file shrank while hashing');
      hash.update(buffer.subarray(0, n));
      position += n;
    }
    parentPort.postMessage({ id, digest: hash.digest('hex') });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

/** What the hash worker has done since it was made (read-only figures, for tests and status). */
export interface HashJobCounts {
  /** Jobs handed to the worker thread. */
  started: number;
  /** Jobs that produced a digest. */
  completed: number;
  /** Jobs dropped, queued or mid-run, because every download waiting for them went away. */
  cancelled: number;
  /** Requests that joined a job already queued or running for the same bytes. */
  shared: number;
  /** Requests turned away because the queue was full; their callers hash inline. */
  refused: number;
}

/**
 * One download's claim on a digest job. The job may read through this
 * download's descriptor: call {@link leave} before closing it, unless the
 * digest arrived.
 */
export interface DigestTicket {
  /** The SHA-256 (hex) of the range; rejects if hashing failed or the worker stopped. */
  readonly digest: Promise<string>;
  /**
   * This download no longer needs the digest (it failed). The job is
   * cancelled when no one else waits for it. Resolves once the job no longer
   * reads this download's descriptor, so it may then be closed.
   */
  leave(): Promise<void>;
}

/** One download waiting for a job, with the descriptor the job may read through. */
interface Waiter {
  readonly fd: number;
}

interface Job {
  readonly id: number;
  readonly key: string;
  readonly start: number;
  readonly end: number;
  state: 'queued' | 'running' | 'done';
  readonly waiters: Set<Waiter>;
  /** The waiter whose descriptor a running job reads. */
  reader?: Waiter;
  readonly cancel: Int32Array;
  readonly digest: Promise<string>;
  resolve(digest: string): void;
  reject(err: Error): void;
  /** Resolves when the job is over, however it ended. */
  readonly over: Promise<void>;
  finish(): void;
}

/**
 * One lazily started worker shared by all sessions, fed one job at a time
 * from a bounded queue. Downloads of the same bytes of the same file
 * version share one job; a job nobody waits for any more is cancelled.
 */
export class HashWorker {
  private worker: Worker | undefined;
  /** Every job not yet over, by key; insertion order is queue order. */
  private readonly jobs = new Map<string, Job>();
  private running: Job | undefined;
  private nextId = 0;
  private readonly figures: HashJobCounts = { started: 0, completed: 0, cancelled: 0, shared: 0, refused: 0 };

  /** @param maxQueuedBytes bytes of hashing that may wait ahead of a new job */
  constructor(private readonly maxQueuedBytes = HASH_QUEUE_MAX_BYTES) {}

  /** A copy of the job counts. */
  get counts(): HashJobCounts {
    return { ...this.figures };
  }

  /**
   * A claim on the SHA-256 of bytes `[start, end)` of the file version
   * `key`, read through the open descriptor `fd`: joins a job already queued
   * or running for the same key and range, else queues a new one.
   * `undefined` when more than the queue bound of hashing is already
   * waiting: the caller then hashes inline, at its own pace, rather than
   * wait behind every other download for its digest.
   */
  request(key: string, fd: number, start: number, end: number): DigestTicket | undefined {
    const jobKey = `${key}@${start}-${end}`;
    const waiter: Waiter = { fd };
    const existing = this.jobs.get(jobKey);
    if (existing) {
      this.figures.shared += 1;
      existing.waiters.add(waiter);
      return this.ticket(existing, waiter);
    }
    if (this.jobs.size > 0 && this.bytesAhead() > this.maxQueuedBytes) {
      this.figures.refused += 1;
      return undefined;
    }
    const job = this.newJob(jobKey, start, end, waiter);
    this.jobs.set(jobKey, job);
    this.dispatch();
    return this.ticket(job, waiter);
  }

  /** Stop the worker; jobs not over are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error('hash worker stopped'));
  }

  private ticket(job: Job, waiter: Waiter): DigestTicket {
    return { digest: job.digest, leave: () => this.leave(job, waiter) };
  }

  private leave(job: Job, waiter: Waiter): Promise<void> {
    if (job.state === 'done' || !job.waiters.delete(waiter)) return Promise.resolve();
    if (job.state === 'queued') {
      if (job.waiters.size === 0) {
        this.figures.cancelled += 1;
        this.end(job, () => job.reject(new Error('hashing cancelled')));
      }
      return Promise.resolve();
    }
    // Running: the worker may be reading this waiter's descriptor right now.
    if (job.waiters.size === 0) Atomics.store(job.cancel, 0, 1);
    return job.reader === waiter || job.waiters.size === 0 ? job.over : Promise.resolve();
  }

  private newJob(key: string, start: number, end: number, first: Waiter): Job {
    let resolve!: (digest: string) => void;
    let reject!: (err: Error) => void;
    const digest = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A job whose every waiter left is rejected with no one listening.
    digest.catch(() => undefined);
    let finish!: () => void;
    const over = new Promise<void>((res) => {
      finish = res;
    });
    return {
      id: this.nextId++, key, start, end, state: 'queued', waiters: new Set([first]),
      cancel: new Int32Array(new SharedArrayBuffer(4)), digest, resolve, reject, over, finish,
    };
  }

  /** Bytes of hashing queued or running: what a new job would wait behind. */
  private bytesAhead(): number {
    let bytes = 0;
    for (const job of this.jobs.values()) bytes += job.end - job.start;
    return bytes;
  }

  /** Hand the oldest queued job to the worker when it is free. */
  private dispatch(): void {
    if (this.running) return;
    const next = this.jobs.values().next().value;
    if (!next) return;
    const worker = this.start();
    next.state = 'running';
    // A queued job always has a waiter: the last one to leave cancels it.
    const reader = next.waiters.values().next().value as Waiter;
    next.reader = reader;
    this.running = next;
    this.figures.started += 1;
    // Only a job in flight keeps the worker (and so the process) alive.
    worker.ref();
    worker.postMessage({ id: next.id, fd: reader.fd, start: next.start, end: next.end, cancel: next.cancel });
  }

  /** Take a job out of the queue for good, settle it, and start the next. */
  private end(job: Job, settle: () => void): void {
    job.state = 'done';
    this.jobs.delete(job.key);
    if (this.running === job) {
      this.running = undefined;
      this.worker?.unref();
    }
    settle();
    job.finish();
    this.dispatch();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (reply: { id: number; digest?: string; error?: string; cancelled?: boolean }) => {
      const job = this.running;
      if (!job || job.id !== reply.id) return;
      if (reply.digest !== undefined) {
        this.figures.completed += 1;
        this.end(job, () => job.resolve(reply.digest!));
      } else if (reply.cancelled) {
        this.figures.cancelled += 1;
        this.end(job, () => job.reject(new Error('hashing cancelled')));
      } else {
        this.end(job, () => job.reject(new Error(reply.error ?? 'hashing failed')));
      }
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(err);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('hash worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    this.running = undefined;
    for (const job of jobs) {
      job.state = 'done';
      job.reject(err);
      job.finish();
    }
  }
}
