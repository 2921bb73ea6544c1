import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError, localError } from './errors';

/** Suffix of a download in progress; the final name appears only when verified. */
export const PART_SUFFIX = '.part';

/** Bytes per read when hashing or sending a local file (large reads move faster on loopback). */
export const LOCAL_READ_CHUNK = 1024 * 1024;

/**
 * Why `name` may not be used as a local file name, or `null` when it may.
 * Only a plain last path part is accepted: no separator of either platform,
 * no `.`/`..`, nothing absolute, no NUL or other control character — so a
 * hostile server cannot make the client write outside the folder the user
 * chose, nor leave names on disk that attack the next tool to list them.
 */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name === '.' || name === '..') return 'relative path part';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name.includes('\0')) return 'contains a NUL byte';
  // A control character in a local name turns on whoever lists the folder
  // next (a terminal, a script reading `ls`); a lone surrogate has no UTF-8
  // form and would land on disk as U+FFFD, aliasing another name.
  if (/[\p{Cc}\p{Cs}]/u.test(name)) return 'contains a control character';
  if (path.isAbsolute(name) || path.win32.isAbsolute(name)) return 'absolute path';
  if (path.basename(name) !== name) return 'not a plain file name';
  return null;
}

/**
 * Check a name that came from the server (or was derived from a remote path)
 * before it touches the local disk.
 * @throws FtpError of kind `unsafe_name`.
 */
export function assertSafeLocalName(name: string): string {
  const reason = unsafeNameReason(name);
  if (reason) throw new FtpError('unsafe_name', `refusing unsafe local file name "${name}": ${reason}`);
  return name;
}

/** The last part of a remote path (`a/b/c.txt` → `c.txt`), checked as a local name. */
export function localNameFor(remotePath: string): string {
  const parts = remotePath.split('/').filter((p) => p.length > 0);
  return assertSafeLocalName(parts[parts.length - 1] ?? '');
}

/**
 * Feed a local file into `hash` by streaming it (never whole in memory).
 * @returns the number of bytes read.
 */
export async function hashFileInto(file: string, hash: Hash): Promise<number> {
  let bytes = 0;
  try {
    const stream = createReadStream(file, { highWaterMark: LOCAL_READ_CHUNK });
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (err) {
    throw localError(err, file);
  }
  return bytes;
}

/** SHA-256 of a local file, in lower-case hex, computed by streaming. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(file, hash);
  return hash.digest('hex');
}

/** Size of a regular file, 0 when it does not exist; an error for anything else. */
export async function existingFileSize(file: string): Promise<number> {
  try {
    const info = await fs.stat(file);
    if (!info.isFile()) throw new FtpError('local', `${file}: not a regular file`);
    return info.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw localError(err, file);
  }
}

/** True when `p` names an existing folder. */
export async function isLocalDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
