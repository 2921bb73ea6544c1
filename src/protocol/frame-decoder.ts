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
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet consumed. */
  get bufferedBytes(): number {
    return this.buffer.length - this.offset;
  }

  /** Append bytes read from the peer. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.bufferedBytes === 0) {
      this.buffer = chunk;
      this.offset = 0;
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), chunk]);
      this.offset = 0;
    }
  }

  /**
   * The next whole frame, or `null` when more bytes are needed.
   * @throws FramingError when the length prefix breaks the framing rules.
   */
  next(): DecodedFrame | null {
    const available = this.bufferedBytes;
    if (available < LENGTH_PREFIX_BYTES) return null;
    const length = this.buffer.readUInt32BE(this.offset);
    if (length > this.maxFrameBytes) {
      throw new FramingError(413, `Frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (length < MIN_FRAME_BYTES) {
      throw new FramingError(400, `Frame length ${length} is too short for a JSON object`);
    }
    if (available < LENGTH_PREFIX_BYTES + length) return null;

    const start = this.offset + LENGTH_PREFIX_BYTES;
    const body = this.buffer.subarray(start, start + length);
    this.consume(LENGTH_PREFIX_BYTES + length);
    return parseFrameBody(body);
  }

  /**
   * Take up to `max` raw bytes already buffered (the start of a payload that
   * arrived in the same chunk as its command). Returns `null` when none.
   */
  takeRaw(max: number): Buffer | null {
    const n = Math.min(max, this.bufferedBytes);
    if (n <= 0) return null;
    const bytes = this.buffer.subarray(this.offset, this.offset + n);
    this.consume(n);
    return bytes;
  }

  private consume(n: number): void {
    this.offset += n;
    if (this.offset === this.buffer.length) {
      // Drop the reference so a large chunk is not kept alive by an idle session.
      this.buffer = Buffer.alloc(0);
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
