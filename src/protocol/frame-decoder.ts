import { isUtf8 } from 'node:buffer';
import { BadRequestError, FramingError } from './errors';

/** Bytes of the big-endian length prefix in front of every frame. */
export const LENGTH_PREFIX_BYTES = 4;

/** The smallest body that can hold a JSON object (`{}`). */
const MIN_FRAME_BYTES = 2;

/** One decoded frame: a JSON object, or a well-delimited frame that was not one. */
export type DecodedFrame =
  | { kind: 'message'; message: Record<string, unknown> }
  | { kind: 'invalid'; error: BadRequestError };

/**
 * A sans-I/O frame decoder: fed `Buffer` chunks in any split, it yields whole
 * frames, and hands back raw bytes for payloads that follow a frame.
 *
 * It never sees a socket, so it is tested with bytes alone. It enforces the
 * frame size limit itself: a length prefix over the limit (or of 0 or 1)
 * throws a {@link FramingError}, because from then on no frame boundary can be
 * trusted. A frame that is delimited correctly but is not UTF-8 JSON holding
 * an object is returned as `invalid`: the stream stays in step.
 *
 * Memory stays bounded because the caller pulls: it pushes a chunk only when
 * {@link next} asked for more, so at most one frame plus one chunk is held.
 */
export class FrameDecoder {
  /** Unconsumed bytes, oldest first; only the first may be partly consumed. */
  private chunks: Buffer[] = [];
  private offset = 0;
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet consumed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Append bytes read from the peer. Chunks are kept as they are and joined
   * once, when a whole frame is there, so a large frame arriving in many
   * chunks costs one copy rather than one per chunk.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole frame, or `null` when more bytes are needed.
   * @throws FramingError when the length prefix breaks the framing rules.
   */
  next(): DecodedFrame | null {
    if (this.buffered < LENGTH_PREFIX_BYTES) return null;
    const length = this.peek(LENGTH_PREFIX_BYTES).readUInt32BE(0);
    if (length > this.maxFrameBytes) {
      throw new FramingError(413, `Frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (length < MIN_FRAME_BYTES) {
      throw new FramingError(400, `Frame length ${length} is too short for a JSON object`);
    }
    if (this.buffered < LENGTH_PREFIX_BYTES + length) return null;
    const frame = this.peek(LENGTH_PREFIX_BYTES + length);
    this.consume(LENGTH_PREFIX_BYTES + length);
    return parseFrameBody(frame.subarray(LENGTH_PREFIX_BYTES));
  }

  /**
   * Take up to `max` raw bytes already buffered (the start of a payload that
   * arrived in the same chunk as its command). Returns `null` when none.
   */
  takeRaw(max: number): Buffer | null {
    if (max <= 0 || this.buffered === 0) return null;
    const first = this.chunks[0];
    const n = Math.min(max, first.length - this.offset);
    const bytes = first.subarray(this.offset, this.offset + n);
    this.consume(n);
    return bytes;
  }

  /** The first `n` buffered bytes as one buffer (joined only if they span chunks). */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const joined = Buffer.concat([first.subarray(this.offset), ...this.chunks.slice(1)]);
    // Keep the joined bytes so the next peek does not join them again.
    this.chunks = [joined];
    this.offset = 0;
    return joined.subarray(0, n);
  }

  private consume(n: number): void {
    this.buffered -= n;
    let left = n;
    while (left > 0) {
      const first = this.chunks[0];
      const available = first.length - this.offset;
      if (left < available) {
        this.offset += left;
        return;
      }
      left -= available;
      // Drop the reference so a large chunk is not kept alive by an idle session.
      this.chunks.shift();
      this.offset = 0;
    }
  }
}

/** Decode one frame body: strict UTF-8, JSON, and an object at the top. */
export function parseFrameBody(body: Buffer): DecodedFrame {
  if (!isUtf8(body)) {
    return { kind: 'invalid', error: new BadRequestError('Frame is not valid UTF-8') };
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'invalid', error: new BadRequestError('Frame is not valid JSON') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid', error: new BadRequestError('Frame is not a JSON object') };
  }
  return { kind: 'message', message: value as Record<string, unknown> };
}
