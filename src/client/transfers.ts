import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Connection } from './connection';
import { errorFromResponse, FtpError, localError } from './errors';
import { acceptableVersion, isCount, readReply } from './replies';

/**
 * The wire side of `GET` and `PUT` (§4 of the contract). These run inside the
 * client's queue, so they own the connection while they run. Any failure in
 * the middle of a payload leaves the byte stream out of step, so it closes the
 * connection; failures before the payload or after the trailer do not.
 */

/** Called as bytes move: `done` counts from the start of the file (offset included). */
export type ProgressCallback = (done: number, total: number) => void;

export interface GetOptions {
  /** Resume from this byte (default 0). */
  offset?: number;
  /**
   * Only if the file is still this version (from an earlier {@link GetStart}):
   * otherwise the server answers 412 and the call rejects with kind `changed`
   * before any byte is written.
   */
  ifVersion?: string;
  /**
   * Called once the server accepted, before the first payload byte is handed
   * over; the payload waits for the returned promise.
   */
  onStart?: (start: GetStart) => void | Promise<void>;
  onProgress?: ProgressCallback;
  /** Sees every payload chunk before it is written (e.g. to feed a whole-file hash). */
  onData?: (chunk: Buffer) => void;
}

/** What the server's `GET` header announced. */
export interface GetStart {
  /** Size of the whole remote file when the server opened it. */
  size: number;
  offset: number;
  /**
   * The opaque version of the file being sent; absent from a server that
   * does not send one (or sends one too long to keep).
   */
  version?: string;
}

export interface GetResult {
  /** Size of the whole remote file when the server opened it. */
  size: number;
  offset: number;
  /** Payload bytes received: `size - offset`. */
  bytes: number;
  /** SHA-256 (hex) of the received bytes, equal to the server's trailer. */
  sha256: string;
}

export interface PutOptions {
  /**
   * SHA-256 (hex) of the whole content; the server refuses the upload (422)
   * when the bytes differ. Given, the bytes are only moved, not hashed again
   * here: the server's check covers them. Without it they are hashed while
   * sent and compared with the digest the server reports.
   */
  sha256?: string;
  onProgress?: ProgressCallback;
}

export interface PutResult {
  bytes: number;
  /** SHA-256 (hex) of the bytes sent, confirmed by the server's reply. */
  sha256: string;
}

/** Ask for `remote` and stream its payload into `dest`, then check the trailer. */
export async function getOverWire(conn: Connection, remote: string, dest: Writable, options: GetOptions): Promise<GetResult> {
  const offset = options.offset ?? 0;
  if (!isCount(offset)) throw new FtpError('bad_request', `invalid offset ${String(offset)}`);
  const request: Record<string, unknown> = { type: 'command', command: 'GET', filename: remote, offset };
  if (options.ifVersion !== undefined) request.if_version = options.ifVersion;
  await conn.send(request);
  const reply = await readReply(conn);
  if (reply.code !== 200) throw errorFromResponse(reply, remote);

  const { size } = reply.fields;
  const sentOffset = reply.fields.offset ?? offset;
  if (!isCount(size) || sentOffset !== offset || size < offset) {
    // Without a trustworthy byte count the payload's end cannot be found.
    throw conn.close(new FtpError('protocol', `bad GET header from the server (size ${String(size)}, offset ${JSON.stringify(sentOffset)})`));
  }
  const version = acceptableVersion(reply.fields.version);
  if (options.ifVersion !== undefined && version !== options.ifVersion) {
    // A server that ignores if_version would splice two versions: take none
    // of its bytes (the payload is on its way, so only a close stops it).
    throw conn.close(new FtpError('protocol',
      `${remote}: the server did not honour if_version (it is sending another version); download it again without resuming`));
  }
  const start: GetStart = { size, offset, ...(version !== undefined ? { version } : {}) };
  const expected = size - offset;
  const hash = createHash('sha256');
  let received = 0;
  let destError: unknown = null;
  const onDestError = (err: unknown): void => {
    destError ??= err;
    conn.close(new FtpError('local', 'writing the download failed'));
  };
  if (options.onStart) {
    try {
      await options.onStart(start);
    } catch (err) {
      // The payload is on its way and nobody will take it.
      throw conn.close(err instanceof FtpError ? err : localError(err, 'destination'));
    }
  }
  dest.on('error', onDestError);
  options.onProgress?.(offset, size);
  try {
    await conn.readPayload(expected, async (chunk) => {
      hash.update(chunk);
      options.onData?.(chunk);
      received += chunk.length;
      await writeChunk(dest, chunk);
      options.onProgress?.(offset + received, size);
    });
  } catch (err) {
    if (destError) throw localError(destError, 'destination');
    const cause = err instanceof FtpError ? err : localError(err, 'destination');
    conn.close(cause);
    throw new FtpError(cause.kind, `${remote}: transfer interrupted after ${received} of ${expected} bytes: ${cause.message}`, cause.code, { cause });
  } finally {
    dest.off('error', onDestError);
  }

  const trailer = await conn.readMessage();
  if (trailer.type !== 'transfer' || trailer.code !== 226 || trailer.bytes !== expected || typeof trailer.sha256 !== 'string') {
    if (trailer.type === 'response' && Number.isInteger(trailer.code)) {
      throw errorFromResponse(trailer as { code: number; message?: unknown }, remote);
    }
    throw conn.close(new FtpError('protocol', 'bad transfer trailer from the server'));
  }
  const digest = hash.digest('hex');
  if (trailer.sha256.toLowerCase() !== digest) {
    throw new FtpError('integrity',
      `${remote}: checksum mismatch: received bytes hash to ${digest.slice(0, 12)}…, the server sent ${trailer.sha256.slice(0, 12)}…`);
  }
  return { size, offset, bytes: expected, sha256: digest };
}

/** Upload exactly `size` bytes read from `source` as `remote`. */
export async function putOverWire(
  conn: Connection, remote: string, source: Readable, size: number, options: PutOptions,
): Promise<PutResult> {
  if (!isCount(size)) throw new FtpError('bad_request', `invalid size ${String(size)}`);
  const request: Record<string, unknown> = { type: 'command', command: 'PUT', filename: remote, size };
  if (options.sha256 !== undefined) request.sha256 = options.sha256;
  await conn.send(request);
  const ready = await readReply(conn);
  if (ready.code !== 150) throw errorFromResponse(ready, remote);

  // With the digest announced, the server refuses any other bytes (422):
  // hashing them here as well would only spend a core on the same check.
  const hash = options.sha256 === undefined ? createHash('sha256') : undefined;
  let sent = 0;
  options.onProgress?.(0, size);
  try {
    for await (const piece of source) {
      const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as string);
      if (sent + chunk.length > size) {
        throw new FtpError('local', `${remote}: the source grew beyond the ${size} bytes announced`);
      }
      hash?.update(chunk);
      sent += chunk.length;
      await conn.write(chunk);
      options.onProgress?.(sent, size);
    }
    if (sent !== size) throw new FtpError('local', `${remote}: the source ended after ${sent} of ${size} bytes`);
  } catch (err) {
    // The server still expects the rest of the payload: only a close ends it.
    const cause = err instanceof FtpError ? err : localError(err, 'source');
    conn.close(cause);
    throw cause;
  }

  const done = await readReply(conn);
  if (done.code !== 226) throw errorFromResponse(done, remote);
  const digest = hash ? hash.digest('hex') : (options.sha256 as string).toLowerCase();
  const echoed = done.fields.sha256;
  if (typeof echoed === 'string' && echoed.toLowerCase() !== digest) {
    throw new FtpError('integrity', `${remote}: the server stored bytes that hash to ${echoed.slice(0, 12)}…, not ${digest.slice(0, 12)}…`);
  }
  if (done.fields.bytes_received !== undefined && done.fields.bytes_received !== size) {
    throw new FtpError('integrity', `${remote}: the server received ${JSON.stringify(done.fields.bytes_received)} of ${size} bytes`);
  }
  return { bytes: size, sha256: digest };
}

/** Write one chunk, waiting for `drain` when the destination is full. */
function writeChunk(dest: Writable, chunk: Buffer): Promise<void> {
  if (dest.destroyed || dest.writableEnded) {
    return Promise.reject(new FtpError('local', 'the destination was closed during the download'));
  }
  if (dest.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      dest.off('drain', onDrain);
      dest.off('close', onClose);
      if (err) reject(err); else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new FtpError('local', 'the destination was closed during the download'));
    dest.on('drain', onDrain);
    dest.on('close', onClose);
  });
}
