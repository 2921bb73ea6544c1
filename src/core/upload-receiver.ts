import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { TransferAbortedError, TransferError } from './errors';
import type { ChunkSource, ProgressHook } from './payload';
import type { HashRing, UploadDigest, UploadHasher } from './upload-hasher';

/**
 * Receiving an upload's payload: chunks from the connection go to the sink
 * (the temporary file) and through SHA-256, with backpressure at every step
 * and a bounded number of bytes in flight.
 *
 * Large payloads can be hashed on a hash thread, in parallel with the disk
 * writes, instead of on the event loop: the loop then reads the socket,
 * writes and copies each chunk once into shared memory the thread reads.
 * Small payloads are hashed inline: a thread round trip would cost more than
 * the hashing. Whether the thread pays off depends on spare cores; see
 * {@link UploadHasher} and docs/BENCHMARKS.md.
 */

/** Payloads at least this large are hashed on a hash thread. */
export const THREAD_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** What came of receiving an upload's payload. */
export interface ReceivedPayload {
  /** Payload bytes received. */
  bytes: number;
  /** Hex SHA-256 of the payload; empty when the sink or the hash thread failed. */
  sha256: string;
  /** The first error the sink raised; the payload was still read to its end. */
  sinkError?: unknown;
  /** The hash thread failed (it died); the payload was still read to its end, nothing is kept. */
  hashError?: unknown;
}

/** Options of {@link receivePayload}. */
export interface ReceiveOptions {
  /** Hash large payloads on its threads (when it has any) instead of inline. */
  hasher?: UploadHasher;
  /** For a payload of unknown size: refuse once it passes this many bytes. */
  limit?: number;
}

/**
 * Read the payload from `source` into `sink`, hashing it: exactly `size`
 * bytes when the sender announced them (the native PUT), else until the
 * source ends (an FTP data connection closing), refused past `limit`.
 * Hashed on a thread of `hasher` when given and the payload is large (or of
 * unknown size), else inline. If the sink or the hash thread fails, the
 * rest of an announced payload is still read and dropped, so the next frame
 * starts where the client thinks it does.
 *
 * The receiver owns every chunk `source` returns: a chunk's memory may move
 * to a hash thread, so a source must not reuse its buffers.
 * @throws TransferAbortedError if the peer goes away before `size` bytes.
 * @throws TransferError `upload_too_large` once an unannounced payload passes `limit`.
 */
export async function receivePayload(
  source: ChunkSource,
  size: number | undefined,
  sink: Writable,
  onProgress: ProgressHook,
  options: ReceiveOptions = {},
): Promise<ReceivedPayload> {
  const { hasher } = options;
  const limit = options.limit ?? Infinity;
  const threaded = hasher?.enabled === true && (size === undefined || size >= THREAD_HASH_MIN_BYTES);
  const stage: Stage = threaded ? new RingStage(sink, hasher.begin()) : new InlineStage(sink);
  let received = 0;
  try {
    while (size === undefined || received < size) {
      const chunk = await source.pull(size === undefined ? Infinity : size - received);
      if (!chunk) {
        if (size === undefined) break;
        throw new TransferAbortedError('connection closed during upload', received);
      }
      received += chunk.length;
      if (received > limit) throw new TransferError('upload_too_large', `Upload exceeds the limit of ${limit} bytes`);
      onProgress(chunk.length);
      const wait = stage.take(chunk, received === size);
      if (wait) await wait;
    }
    return { bytes: received, ...(await stage.finish()) };
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
  abstract finish(): Promise<Omit<ReceivedPayload, 'bytes'>>;
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

  async finish(): Promise<Omit<ReceivedPayload, 'bytes'>> {
    await this.endSink();
    const sha256 = this.hash.digest('hex');
    return this.sinkError === undefined ? { sha256 } : { sha256: '', sinkError: this.sinkError };
  }

  cancel(): void {}
}

/**
 * Chunks go to the sink as they come, exactly as inline, and a copy of each
 * goes into the upload's ring for the hash thread: a full slot is hashed
 * there while the socket fills the next. The copy is the price of keeping
 * the disk path as it was; writing the ring's memory to disk instead was
 * measured to make the page-cache writes cost twice the CPU, and would hand
 * a sink memory it must not keep (docs/BENCHMARKS.md). With every slot
 * waiting for the hash thread, or the sink asking to wait, nothing more is
 * read from the socket.
 */
class RingStage extends Stage {
  private readonly ring: HashRing;
  private readonly free: number[] = [];
  private slot = -1;
  private fill = 0;
  private sinkBlocked = false;
  private hashError: unknown;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    sink: Writable,
    private readonly digest: UploadDigest,
  ) {
    super(sink);
    this.ring = digest.ring;
    for (let i = this.ring.slots - 1; i >= 0; i--) this.free.push(i);
  }

  take(chunk: Buffer, last: boolean): Promise<void> | undefined {
    if (this.failed) return undefined;
    if (!this.sink.write(chunk)) this.blockUntilDrained();
    return this.copy(chunk, last);
  }

  async finish(): Promise<Omit<ReceivedPayload, 'bytes'>> {
    if (this.slot >= 0) {
      if (this.fill > 0 && !this.failed) {
        this.publish();
      } else {
        this.free.push(this.slot);
        this.slot = -1;
      }
    }
    await this.until(() => this.free.length === this.ring.slots);
    // Nothing reads the ring now: the next upload may have it.
    this.digest.releaseRing();
    if (!this.failed) await this.endSink();
    if (this.failed) {
      this.digest.cancel();
      return { sha256: '', sinkError: this.sinkError, hashError: this.hashError };
    }
    try {
      return { sha256: await this.digest.digest() };
    } catch (err) {
      return { sha256: '', hashError: err };
    }
  }

  cancel(): void {
    this.stopped = true;
    this.digest.cancel();
    // The thread may still be reading a slot: the ring is left to the GC, not reused.
  }

  protected override sinkFailed(): void {
    this.notify();
  }

  /** Whether the upload is lost already (the rest of the payload is only read). */
  private get failed(): boolean {
    return this.stopped || this.sinkError !== undefined || this.hashError !== undefined;
  }

  /** Copy `chunk` into the ring, publishing each slot it fills; waits for a free slot when none is. */
  private copy(chunk: Buffer, last: boolean): Promise<void> | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.slot < 0) {
        const slot = this.free.pop();
        if (slot === undefined) {
          const rest = chunk.subarray(offset);
          return this.until(() => this.failed || this.free.length > 0).then(() => (this.failed ? undefined : this.copy(rest, last)));
        }
        this.slot = slot;
      }
      const { memory, slotBytes } = this.ring;
      const n = Math.min(slotBytes - this.fill, chunk.length - offset);
      chunk.copy(memory, this.slot * slotBytes + this.fill, offset, offset + n);
      this.fill += n;
      offset += n;
      if (this.fill === slotBytes) this.publish();
    }
    if (last && this.fill > 0) this.publish();
    return this.sinkBlocked ? this.until(() => this.failed || !this.sinkBlocked) : undefined;
  }

  /** Hand the current slot to the hash thread; it is free again once hashed. */
  private publish(): void {
    const slot = this.slot;
    const length = this.fill;
    this.slot = -1;
    this.fill = 0;
    this.digest.update(slot, length).then(
      () => this.release(slot),
      (err: unknown) => {
        if (!this.stopped) this.hashError ??= err;
        this.release(slot);
      },
    );
  }

  private release(slot: number): void {
    this.free.push(slot);
    this.notify();
  }

  private blockUntilDrained(): void {
    if (this.sinkBlocked) return;
    this.sinkBlocked = true;
    void drained(this.sink).then(() => {
      this.sinkBlocked = false;
      this.notify();
    });
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
