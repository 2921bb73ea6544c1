import { LENGTH_PREFIX_BYTES } from './frame-decoder';

/** Thrown when a message would not fit in one frame of the allowed size. */
export class FrameTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`Frame of ${bytes} bytes exceeds the limit of ${limit}`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Encode one message as a frame: a 4-byte big-endian length, then UTF-8 JSON.
 * One buffer per frame, so a reply goes out in a single write.
 */
export function encodeFrame(message: object, maxFrameBytes = 0xffffffff): Buffer {
  const json = JSON.stringify(message);
  const length = Buffer.byteLength(json, 'utf8');
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  const frame = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.write(json, LENGTH_PREFIX_BYTES, 'utf8');
  return frame;
}
