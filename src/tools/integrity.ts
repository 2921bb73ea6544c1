import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

/**
 * Byte-for-byte checks for the stress and benchmark tools. The client
 * library already compares a download with the server's trailer; these
 * compare it with what the tool itself put there, which also catches a
 * server that serves the wrong file with a consistent trailer.
 */

/** What a file's content must be: its length and SHA-256 (hex, lower case). */
export interface ContentDigest {
  size: number;
  sha256: string;
}

/** SHA-256 and length of a buffer. */
export function digestOf(bytes: Buffer): ContentDigest {
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Compare what arrived with what was expected.
 * @returns `null` when they match, else a one-line description of the difference.
 */
export function compareContent(expected: ContentDigest, actual: ContentDigest): string | null {
  if (actual.size !== expected.size) return `size ${actual.size}, expected ${expected.size}`;
  if (actual.sha256.toLowerCase() !== expected.sha256.toLowerCase()) {
    return `sha256 ${actual.sha256.slice(0, 12)}…, expected ${expected.sha256.slice(0, 12)}…`;
  }
  return null;
}

/** {@link compareContent} for a whole buffer in hand. */
export function verifyBuffer(expected: ContentDigest, received: Buffer): string | null {
  return compareContent(expected, digestOf(received));
}

/**
 * A writable that keeps nothing: it hashes and counts what passes through,
 * so a download of any size can be verified in constant memory.
 */
export class HashingSink extends Writable {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback();
  }

  /** Length and SHA-256 of everything written. Call once, after the last write. */
  digest(): ContentDigest {
    return { size: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** A writable that throws its bytes away (the `/dev/null` of a throughput test). */
export class DiscardSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    callback();
  }
}

/** `size` fresh random bytes: incompressible, and never equal to an earlier upload by accident. */
export function randomBytesOf(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  if (size > 0) randomFillSync(bytes);
  return bytes;
}

/**
 * A readable over a buffer in slices of `chunkBytes`, so an upload moves
 * through the socket the way a file read would, not as one huge write.
 */
export function bufferSource(bytes: Buffer, chunkBytes = 256 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes.length) {
        this.push(null);
        return;
      }
      const end = Math.min(bytes.length, offset + chunkBytes);
      this.push(bytes.subarray(offset, end));
      offset = end;
    },
  });
}
