import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { FrameDecoder } from '../protocol/frame-decoder';
import { TransferAbortedError, type ChunkSource, type ProgressHook } from './payload';
import type { UploadDigest, UploadHasher } from './upload-hasher';

/**
 * Receiving an upload's payload: chunks from the connection go to the sink
 * (the temporary file) and through SHA-256, with backpressure at every step
 * and a bounded number of bytes in flight.
 *
 * Large payloads are hashed on a hash thread, in parallel with the disk
 * writes, instead of on the event loop: the loop then only reads the socket
 * and hands chunks on (by transfer, not copy), which roughly halves its work
 * per byte. Small payloads are hashed inline: a thread round trip would cost
 * more than the hashing.
 */

/** Payloads at least this large are hashed on a hash thread. */
export const THREAD_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** Bytes handed to the hash thread at once: few messages, and one large write once back. */
export const HASH_BATCH_BYTES = 1024 * 1024;

/**
 * Batches at the hash thread at once: enough to keep it busy across a round
 * trip, few enough that an upload holds at most a few MiB beyond the sink's
 * own buffer.
 */
export const HASH_BATCHES_IN_FLIGHT = 4;

/** What came of receiving an upload's payload. */
export interface ReceivedPayload {
  /** Hex SHA-256 of the payload; empty when the sink or the hash thread failed. */
  sha256: string;
  /** The first error the sink raised; the payload was still read to its end. */
  sinkError?: unknown;
  /** The hash thread failed (it died); the payload was still read to its end, nothing is kept. */
  hashError?: unknown;
}

/**
 * Read exactly `size` payload bytes (first those already buffered in the
 * decoder, then from `source`) into `sink`, hashing them: on a thread of
 * `hasher` when given and the payload is large, else inline. If the sink or
 * the hash thread fails, the rest of the payload is still read and dropped
 * so the next frame starts where the client thinks it does.
 *
 * The receiver owns every chunk `source` returns: a chunk's memory may move
 * to a hash thread, so a source must not reuse its buffers.
 * @throws TransferAbortedError if the peer goes away before `size` bytes.
 */
export async function receivePayload(
  decoder: FrameDecoder,
  source: ChunkSource,
  size: number,
  sink: Writable,
  onProgress: ProgressHook,
  hasher?: UploadHasher,
): Promise<ReceivedPayload> {
  const stage: Stage =
    hasher !== undefined && size >= THREAD_HASH_MIN_BYTES ? new ThreadedStage(sink, hasher.begin()) : new InlineStage(sink);
  let received = 0;
  try {
    while (received < size) {
      let chunk = decoder.takeRaw(size - received);
      if (!chunk) {
        const fresh = await source.pull();
        if (!fresh) throw new TransferAbortedError('connection closed during upload', received);
        if (fresh.length > size - received) {
          // Bytes past the payload belong to the next frame: give them back.
          decoder.push(fresh.subarray(size - received));
          chunk = fresh.subarray(0, size - received);
        } else {
          chunk = fresh;
        }
      }
      received += chunk.length;
      onProgress(chunk.length);
      const wait = stage.take(chunk, received === size);
      if (wait) await wait;
    }
    return await stage.finish();
  } catch (err) {
    stage.cancel();
    throw err;
  } finally {
    stage.detach();
  }
}

/** Where received chunks go: a sink and a hash. */
abstract class Stage {
  sinkError: unknown;
  private readonly onSinkError = (err: unknown) => {
    this.sinkError ??= err;
    this.sinkFailed();
  };

  constructor(protected readonly sink: Writable) {
    sink.on('error', this.onSinkError);
  }

  /** Take the next chunk; a promise means: wait for it before taking more. */
  abstract take(chunk: Buffer, last: boolean): Promise<void> | undefined;
  /** Every chunk is taken: flush, and say what came of it. */
  abstract finish(): Promise<ReceivedPayload>;
  /** The payload will not complete: stop, keep nothing. */
  abstract cancel(): void;

  detach(): void {
    this.sink.off('error', this.onSinkError);
  }

  protected sinkFailed(): void {}

  /** End the sink and wait until its bytes are flushed, or it fails (the error is kept). */
  protected async endSink(): Promise<void> {
    if (this.sinkError === undefined) await finished(this.sink);
  }
}

/** Hash on the event loop, write as the chunks come. */
class InlineStage extends Stage {
  private readonly hash = createHash('sha256');

  take(chunk: Buffer): Promise<void> | undefined {
    this.hash.update(chunk);
    if (this.sinkError === undefined && !this.sink.write(chunk)) return drained(this.sink);
    return undefined;
  }

  async finish(): Promise<ReceivedPayload> {
    await this.endSink();
    const sha256 = this.hash.digest('hex');
    return this.sinkError === undefined ? { sha256 } : { sha256: '', sinkError: this.sinkError };
  }

  cancel(): void {}
}

/**
 * Batches of chunks go to the hash thread and, once hashed, to the sink. At
 * most {@link HASH_BATCHES_IN_FLIGHT} batches are at the thread, and none is
 * sent while the sink asks to wait: that is the backpressure on the socket.
 */
class ThreadedStage extends Stage {
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private inFlight = 0;
  private sinkBlocked = false;
  private hashError: unknown;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    sink: Writable,
    private readonly digest: UploadDigest,
  ) {
    super(sink);
  }

  take(chunk: Buffer, last: boolean): Promise<void> | undefined {
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes < HASH_BATCH_BYTES && !last) return undefined;
    return this.send();
  }

  async finish(): Promise<ReceivedPayload> {
    if (this.batch.length > 0) await this.send();
    await this.until(() => this.inFlight === 0);
    if (this.failed) {
      this.digest.cancel();
    } else {
      await this.endSink();
    }
    if (this.failed) return { sha256: '', sinkError: this.sinkError, hashError: this.hashError };
    try {
      return { sha256: await this.digest.digest() };
    } catch (err) {
      return { sha256: '', hashError: err };
    }
  }

  cancel(): void {
    this.stopped = true;
    this.digest.cancel();
  }

  protected override sinkFailed(): void {
    this.notify();
  }

  /** Whether the upload is lost already (the rest of the payload is only read). */
  private get failed(): boolean {
    return this.sinkError !== undefined || this.hashError !== undefined;
  }

  private async send(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (this.failed) return;
    await this.until(() => this.failed || (this.inFlight < HASH_BATCHES_IN_FLIGHT && !this.sinkBlocked));
    if (this.failed) return;
    this.inFlight += 1;
    this.digest.update(batch).then(
      (chunks) => this.hashed(chunks),
      (err: unknown) => this.hashFailed(err),
    );
  }

  /** A batch is hashed: write it (in order: the thread answers in order). */
  private hashed(chunks: Buffer[]): void {
    this.inFlight -= 1;
    if (!this.stopped && !this.failed) {
      let full = false;
      for (const chunk of chunks) full = !this.sink.write(chunk);
      if (full && !this.sinkBlocked) {
        this.sinkBlocked = true;
        void drained(this.sink).then(() => {
          this.sinkBlocked = false;
          this.notify();
        });
      }
    }
    this.notify();
  }

  private hashFailed(err: unknown): void {
    this.inFlight -= 1;
    if (!this.stopped) this.hashError ??= err;
    this.notify();
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Resolve on `drain`, or as soon as the stream fails (the error is collected elsewhere). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}

/** End the stream and wait until its bytes are flushed, or it fails. */
function finished(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('finish', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('finish', done);
    stream.on('error', done);
    stream.end();
  });
}
