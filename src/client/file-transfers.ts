import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { FtpClient } from './ftp-client-api';
import { FtpError, localError } from './errors';
import { existingFileSize, hashFileInto, isLocalDirectory, LOCAL_READ_CHUNK, PART_SUFFIX } from './local-files';
import { LocalDigestCache, processDigests } from './local-digests';
import { readPartVersion, removePartVersion, writePartVersion } from './part-version';
import type { GetResult, ProgressCallback, PutResult } from './transfers';

/**
 * Transfers between a local file and the server, on top of the client's
 * stream API. Downloads are crash-safe: the bytes go to `NAME.part`, which
 * becomes `NAME` only after the last byte arrived and the SHA-256 trailer
 * matched. Uploads send the file's SHA-256 so the server refuses corrupted
 * bytes instead of storing them.
 */

/** Why a resume did not happen and the download started over from byte 0. */
export type RestartReason =
  /** The server answered 412: the remote file changed since the `.part` was begun. */
  | 'changed'
  /** The `.part` has no recorded version, so nothing proves it matches the remote file. */
  | 'unversioned';

export interface DownloadOptions {
  /**
   * Continue an existing `.part` file from its size (like `curl -C -`,
   * `get -c`), but only if the remote file is still the version recorded
   * beside it; otherwise start over (see `onRestart`).
   */
  resume?: boolean;
  onProgress?: ProgressCallback;
  /** Told, before it happens, that a resume is starting over from byte 0 instead. */
  onRestart?: (reason: RestartReason) => void;
  /**
   * Never replace an existing local file: the finished download is linked
   * into place, which fails (kind `local`, the `.part` kept) if the name
   * exists by then.
   */
  noClobber?: boolean;
}

export interface DownloadResult extends GetResult {
  /** The final local path (written only on success). */
  path: string;
  /** SHA-256 of the whole local file (for a resume: the kept bytes plus the new ones). */
  fileSha256: string;
  /** Set when a resume was asked for but the download started over. */
  restarted?: RestartReason;
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

/** Where a resumed download continues: the `.part`'s size, and the version it holds. */
interface ResumePoint {
  offset: number;
  version: string;
}

/**
 * Download `remote` to `localPath`.
 *
 * On failure the final name is never created: after a network failure the
 * `.part` stays (with the remote version beside it, `NAME.part.version`) so
 * `resume` can continue it; after a checksum mismatch it is deleted, because
 * its bytes are known to be wrong. A resume sends that version as
 * `if_version`, so a file replaced meanwhile is downloaded again whole
 * rather than spliced from two versions.
 */
export async function downloadFile(
  client: FtpClient, remote: string, localPath: string, options: DownloadOptions = {},
): Promise<DownloadResult> {
  if (await isLocalDirectory(localPath)) throw new FtpError('local', `${localPath}: is a folder`);
  const partPath = localPath + PART_SUFFIX;
  let restarted: RestartReason | undefined;
  const restart = (reason: RestartReason): void => {
    restarted = reason;
    options.onRestart?.(reason);
  };

  let from: ResumePoint | null = null;
  if (options.resume) {
    const have = await existingFileSize(partPath);
    if (have > 0) {
      const version = await readPartVersion(partPath);
      if (version === undefined) restart('unversioned');
      else from = { offset: have, version };
    }
  }
  let fetched: { result: GetResult; fileSha256: string };
  try {
    fetched = await fetchIntoPart(client, remote, partPath, from, options);
  } catch (err) {
    if (!(from && err instanceof FtpError && err.kind === 'changed')) throw err;
    restart('changed');
    fetched = await fetchIntoPart(client, remote, partPath, null, options);
  }
  const { result, fileSha256 } = fetched;

  // Belt and braces: the file on disk must hold exactly the announced size.
  const onDisk = await existingFileSize(partPath);
  if (onDisk !== result.size) {
    await discardPart(partPath);
    throw new FtpError('integrity', `${partPath}: holds ${onDisk} bytes, expected ${result.size}`);
  }
  await publish(partPath, localPath, options.noClobber === true);
  await removePartVersion(partPath).catch(() => undefined);
  return { ...result, path: localPath, fileSha256, ...(restarted ? { restarted } : {}) };
}

/**
 * One GET into the `.part`: appended from `from`, or (without it) a fresh
 * `.part` whose version is recorded before its first byte is written.
 */
async function fetchIntoPart(
  client: FtpClient, remote: string, partPath: string, from: ResumePoint | null, options: DownloadOptions,
): Promise<{ result: GetResult; fileSha256: string }> {
  const offset = from?.offset ?? 0;
  // The trailer covers only the bytes from `offset`; the kept prefix is
  // hashed here so the caller still learns the whole file's digest.
  const whole = createHash('sha256');
  if (from) await hashFileInto(partPath, whole);
  // A fresh start forgets the old version before the old bytes go.
  else await removePartVersion(partPath);

  const out = await openForWrite(partPath, from ? 'a' : 'w');
  let result: GetResult;
  try {
    result = await client.get(remote, out, {
      offset,
      ...(from ? { ifVersion: from.version } : {}),
      onStart: async ({ version }) => {
        if (!from && version !== undefined) await writePartVersion(partPath, version);
      },
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
    if (known || (await existingFileSize(partPath).catch(() => 1)) === 0) await discardPart(partPath);
    if (err instanceof FtpError && err.kind === 'range' && from) {
      throw new FtpError('range',
        `${remote}: the remote file is smaller than the partial download ${partPath} (${offset} bytes); download it again without resuming`,
        err.code, { cause: err });
    }
    throw err instanceof FtpError ? err : localError(err, partPath);
  }
  return { result, fileSha256: whole.digest('hex') };
}

/** Remove a `.part` and its version. */
async function discardPart(partPath: string): Promise<void> {
  await fs.rm(partPath, { force: true }).catch(() => undefined);
  await removePartVersion(partPath).catch(() => undefined);
}

/**
 * Give the finished `.part` its final name. With `noClobber` the name must
 * not exist: `link` fails rather than replace (unlike `rename`), so a file
 * that appears during the download is not overwritten either.
 */
async function publish(partPath: string, localPath: string, noClobber: boolean): Promise<void> {
  try {
    if (!noClobber) {
      await fs.rename(partPath, localPath);
      return;
    }
    try {
      await fs.link(partPath, localPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new FtpError('local', `${localPath}: exists; not replaced (the download is kept in ${partPath})`);
      }
      // No hard links on this file system: check, then rename (a small race left).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      if (await fs.lstat(localPath).then(() => true, () => false)) {
        throw new FtpError('local', `${localPath}: exists; not replaced (the download is kept in ${partPath})`);
      }
      await fs.rename(partPath, localPath);
      return;
    }
    await fs.unlink(partPath);
  } catch (err) {
    throw localError(err, localPath);
  }
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
