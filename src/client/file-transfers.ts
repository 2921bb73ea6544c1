import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { FtpClient } from './ftp-client';
import { FtpError, localError } from './errors';
import { existingFileSize, hashFileInto, isLocalDirectory, LOCAL_READ_CHUNK, PART_SUFFIX } from './local-files';
import { LocalDigestCache, processDigests } from './local-digests';
import type { GetResult, ProgressCallback, PutResult } from './transfers';

/**
 * Transfers between a local file and the server, on top of the client's
 * stream API. Downloads are crash-safe: the bytes go to `NAME.part`, which
 * becomes `NAME` only after the last byte arrived and the SHA-256 trailer
 * matched. Uploads send the file's SHA-256 so the server refuses corrupted
 * bytes instead of storing them.
 */

export interface DownloadOptions {
  /** Continue an existing `.part` file from its size (like `curl -C -`, `get -c`). */
  resume?: boolean;
  onProgress?: ProgressCallback;
}

export interface DownloadResult extends GetResult {
  /** The final local path (written only on success). */
  path: string;
  /** SHA-256 of the whole local file (for a resume: the kept bytes plus the new ones). */
  fileSha256: string;
}

export interface UploadOptions {
  onProgress?: ProgressCallback;
  /**
   * Digests of local files by version, so an unchanged file is not read
   * twice on its next upload. Default: one cache per process; `null` hashes
   * the file on every upload.
   */
  digests?: LocalDigestCache | null;
}

export interface UploadResult extends PutResult {
  path: string;
}

/**
 * Download `remote` to `localPath`.
 *
 * On failure the final name is never created: after a network failure the
 * `.part` stays so `resume` can continue it; after a checksum mismatch it is
 * deleted, because its bytes are known to be wrong.
 */
export async function downloadFile(
  client: FtpClient, remote: string, localPath: string, options: DownloadOptions = {},
): Promise<DownloadResult> {
  if (await isLocalDirectory(localPath)) throw new FtpError('local', `${localPath}: is a folder`);
  const partPath = localPath + PART_SUFFIX;
  const offset = options.resume ? await existingFileSize(partPath) : 0;

  // The trailer covers only the bytes from `offset`; the kept prefix is
  // hashed here so the caller still learns the whole file's digest.
  const whole = createHash('sha256');
  if (offset > 0) await hashFileInto(partPath, whole);

  const out = await openForWrite(partPath, offset > 0 ? 'a' : 'w');
  let result: GetResult;
  try {
    result = await client.get(remote, out, {
      offset,
      onData: (chunk) => whole.update(chunk),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    out.end();
    await finished(out);
  } catch (err) {
    if (!out.closed) {
      const closing = once(out, 'close').catch(() => undefined);
      out.destroy();
      await closing;
    }
    // Bytes known to be wrong, or no bytes at all: nothing worth resuming.
    const known = err instanceof FtpError && err.kind === 'integrity';
    if (known || (await existingFileSize(partPath).catch(() => 1)) === 0) {
      await fs.rm(partPath, { force: true }).catch(() => undefined);
    }
    if (err instanceof FtpError && err.kind === 'range' && options.resume) {
      throw new FtpError('range',
        `${remote}: the remote file is smaller than the partial download ${partPath} (${offset} bytes); download it again without resuming`,
        err.code, { cause: err });
    }
    throw err instanceof FtpError ? err : localError(err, partPath);
  }

  // Belt and braces: the file on disk must hold exactly the announced size.
  const onDisk = await existingFileSize(partPath);
  if (onDisk !== result.size) {
    await fs.rm(partPath, { force: true }).catch(() => undefined);
    throw new FtpError('integrity', `${partPath}: holds ${onDisk} bytes, expected ${result.size}`);
  }
  try {
    await fs.rename(partPath, localPath);
  } catch (err) {
    throw localError(err, localPath);
  }
  return { ...result, path: localPath, fileSha256: whole.digest('hex') };
}

/**
 * Upload the local file `localPath` as `remote`. The digest is sent with the
 * request, so bytes changed in transit — or a file modified while it was
 * being sent — are refused by the server with 422 and never replace the
 * remote file. The digest comes from hashing the file first (through the
 * same open file that is then sent), or from `options.digests` when this
 * version of the file was hashed before; the send itself only moves bytes.
 * If a remembered digest is refused, it is forgotten and the file is hashed
 * and sent once more.
 */
export async function uploadFile(
  client: FtpClient, localPath: string, remote: string, options: UploadOptions = {},
): Promise<UploadResult> {
  const digests = options.digests === undefined ? processDigests : options.digests;
  try {
    return await uploadOnce(client, localPath, remote, options, digests, true);
  } catch (err) {
    if (!(err instanceof RememberedDigestRefused)) throw err;
    return uploadOnce(client, localPath, remote, options, digests, false);
  }
}

/** The server refused a digest taken from the cache: hash and send again. */
class RememberedDigestRefused extends Error {}

/**
 * One upload from a fresh open of the file (a read stream's end closes its
 * file handle in Node 20, so a second pass needs its own).
 */
async function uploadOnce(
  client: FtpClient, localPath: string, remote: string, options: UploadOptions,
  digests: LocalDigestCache | null, mayRemember: boolean,
): Promise<UploadResult> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(localPath, 'r');
  } catch (err) {
    throw localError(err, localPath);
  }
  try {
    const info = await handle.stat({ bigint: true });
    if (!info.isFile()) throw new FtpError('local', `${localPath}: not a regular file`);
    const key = LocalDigestCache.keyOf(info);
    const remembered = mayRemember ? digests?.get(key) : undefined;
    const sha256 = remembered ?? (await hashOpenFile(handle));
    const source = handle.createReadStream({ highWaterMark: LOCAL_READ_CHUNK, autoClose: false, start: 0 });
    try {
      const result = await client.put(remote, source, Number(info.size), {
        sha256,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      digests?.set(key, result.sha256);
      return { ...result, path: localPath };
    } catch (err) {
      if (remembered !== undefined && err instanceof FtpError && err.code === 422) {
        digests?.delete(key);
        throw new RememberedDigestRefused();
      }
      throw err;
    } finally {
      source.destroy();
    }
  } catch (err) {
    throw err instanceof FtpError || err instanceof RememberedDigestRefused ? err : localError(err, localPath);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** SHA-256 of an open file from its start, read in large chunks through the handle. */
async function hashOpenFile(handle: fs.FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(LOCAL_READ_CHUNK);
  for (let position = 0; ; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/** Open a write stream and wait until the file is really open. */
async function openForWrite(file: string, flags: 'a' | 'w'): Promise<WriteStream> {
  const out = createWriteStream(file, { flags });
  try {
    await once(out, 'open');
  } catch (err) {
    throw localError(err, file);
  }
  return out;
}
