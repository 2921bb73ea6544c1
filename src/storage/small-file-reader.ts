import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Identity } from './identity';
import type { SmallFile, SmallFileResult } from './small-files';

/** Jobs in flight on the worker before callers are sent to the normal path. */
const MAX_IN_FLIGHT = 4;

interface Pending {
  resolve(result: SmallFileResult): void;
}

/** What a {@link SmallFileReader} did since it was made (read-only figures, for tests and status). */
export interface SmallFileCounts {
  /** Jobs handed to the worker thread. */
  jobs: number;
  /** Answers from the worker, by what it found. */
  read: number;
  outside: number;
  fallback: number;
  /** Callers sent to the normal path without a job: the worker was busy, could not start, or died with their job. */
  turnedAway: number;
}

/**
 * Runs `readSmallFileSync` on one worker thread shared by the process. While
 * the worker is busy with {@link MAX_IN_FLIGHT} jobs, further callers get
 * `fallback` at once and take the normal thread-pool path, so a slow disk
 * cannot queue every GET behind one thread.
 */
export class SmallFileReader {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly tally: SmallFileCounts = { jobs: 0, read: 0, outside: 0, fallback: 0, turnedAway: 0 };

  /** What this reader did so far. */
  get counts(): Readonly<SmallFileCounts> {
    return { ...this.tally };
  }

  /** Read `parts` under `root` if small; with `pin`, only while the root is still that folder. */
  read(root: string, parts: readonly string[], maxBytes: number, pin?: Identity): Promise<SmallFileResult> {
    if (this.pending.size >= MAX_IN_FLIGHT) return this.turnAway();
    let worker: Worker;
    try {
      worker = this.start();
    } catch {
      return this.turnAway();
    }
    this.tally.jobs += 1;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      // Only a job in flight keeps the worker (and so the process) alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, root, parts, maxBytes, pin });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const compiled = __filename.endsWith('.js');
    const entry = path.join(__dirname, `small-file-worker.${compiled ? 'js' : 'ts'}`);
    // From the TypeScript sources (tests), the worker needs ts-node too.
    const worker = new Worker(entry, compiled ? {} : { execArgv: ['-r', 'ts-node/register/transpile-only'] });
    worker.unref();
    worker.on('message', (reply: { id: number; kind: SmallFileResult['kind']; bytes?: ArrayBuffer; size?: number; versionKey?: string }) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      this.tally[reply.kind] += 1;
      if (reply.kind === 'read') {
        const file: SmallFile = { data: Buffer.from(reply.bytes!), size: reply.size!, versionKey: reply.versionKey! };
        job.resolve({ kind: 'read', file });
      } else {
        job.resolve({ kind: reply.kind });
      }
    });
    const fail = () => {
      if (this.worker === worker) this.worker = undefined;
      this.tally.turnedAway += this.pending.size;
      for (const job of this.pending.values()) job.resolve({ kind: 'fallback' });
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }

  private turnAway(): Promise<SmallFileResult> {
    this.tally.turnedAway += 1;
    return Promise.resolve({ kind: 'fallback' });
  }
}

/** One reader for the whole process: small-file reads share one thread. */
export const smallFileReader = new SmallFileReader();
