import { ProtocolError } from './errors';
import { LENGTH_PREFIX_BYTES } from './frame-decoder';

/**
 * Thrown when a message would not fit in one frame of the allowed size (a
 * listing of a huge folder, say). It is a `413` for the command that asked.
 */
export class FrameTooLargeError extends ProtocolError {
  constructor(readonly bytes: number, readonly limit: number) {
    super(413, `Reply of ${bytes} bytes exceeds the frame limit of ${limit}`);
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
