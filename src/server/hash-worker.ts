import { Worker } from 'node:worker_threads';

/**
 * Hashes a byte range of an open file on a worker thread, reading the file
 * through its own descriptor. A large download then sends on the event loop
 * while its SHA-256 is computed on the other core, instead of the hash
 * capping the transfer at one core's hashing speed.
 *
 * The worker's source is inline so that it runs the same from `dist/` and
 * under ts-jest.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1024 * 1024);
parentPort.on('message', ({ id, fd, start, end }) => {
  try {
    const hash = createHash('sha256');
    let position = start;
    while (position < end) {
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

interface Pending {
  resolve(digest: string): void;
  reject(err: Error): void;
}

/** One lazily started worker, shared by all sessions; jobs queue in order. */
export class HashWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** SHA-256 (hex) of bytes `[start, end)` of the open descriptor `fd`. */
  hashRange(fd: number, start: number, end: number): Promise<string> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Only a job in flight keeps the worker (and so the process) alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, fd, start, end });
    });
  }

  /** Stop the worker; jobs still queued are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error('hash worker stopped'));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (reply: { id: number; digest?: string; error?: string }) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.digest !== undefined) job.resolve(reply.digest);
      else job.reject(new Error(reply.error ?? 'hashing failed'));
    });
    worker.on('error', (err) => {
      this.worker = undefined;
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
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
  }
}
