import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { descriptorPathSync, folderStillIsSync, identityOf, sameIdentity, type Identity } from './identity';
import { isTempUploadName } from './path-rules';
import { isWithin } from './resolver';
import { versionKeyOf } from './version-key';

export type { SmallFile };

import type { SmallFile } from './storage';

/**
 * What the fast path found. Anything but `read` sends the caller down the
 * normal path, which has the full rules and the proper error for each case.
 */
export type SmallFileResult =
  | { kind: 'read'; file: SmallFile }
  | { kind: 'outside' }
  | { kind: 'fallback' };

const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

/**
 * Resolve, confine, open, stat and read a small regular file in one go, with
 * synchronous calls. It runs on a worker thread (see `small-file-reader.ts`),
 * never on the event loop: a GET of a small file then costs one hand-off to
 * that thread instead of four thread-pool round trips in a row.
 *
 * The confinement check is the same one the resolver uses, and it comes
 * before anything is opened: a path that leaves the root is never opened.
 * What was opened is checked too (a folder on the way may have been swapped
 * between the realpath and the open), and with `pin` the root must still be
 * the folder pinned at login once the bytes are read; else the caller takes
 * the normal path, which refuses with the right answer.
 * `parts` must already have passed `parseClientPath`.
 */
export function readSmallFileSync(root: string, parts: readonly string[], maxBytes: number, pin?: Identity): SmallFileResult {
  let real: string;
  try {
    real = realpathSync.native(path.join(root, ...parts));
  } catch {
    return { kind: 'fallback' };
  }
  if (!isWithin(root, real) || isTempUploadName(path.basename(real))) return { kind: 'outside' };
  let fd: number;
  try {
    fd = openSync(real, READ_FLAGS);
  } catch {
    return { kind: 'fallback' };
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!openedInside(fd, root, real, identityOf(stats))) return { kind: 'outside' };
    if (!stats.isFile() || stats.size > BigInt(maxBytes)) return { kind: 'fallback' };
    const size = Number(stats.size);
    const data = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, data, filled, size - filled, filled);
      // Shrunk since the fstat: let the normal path deal with it.
      if (n === 0) return { kind: 'fallback' };
      filled += n;
    }
    if (pin && !folderStillIsSync(root, pin)) return { kind: 'outside' };
    return { kind: 'read', file: { data, size, versionKey: versionKeyOf(stats) } };
  } catch {
    return { kind: 'fallback' };
  } finally {
    closeSync(fd);
  }
}

/**
 * True when descriptor `fd` (opened from the real path `real`) is a file
 * inside `root`: its path from `/proc/self/fd`, or where there is none, the
 * same file found again at a path that is still real.
 */
function openedInside(fd: number, root: string, real: string, opened: Identity): boolean {
  let where: string | undefined;
  try {
    where = descriptorPathSync(fd);
    if (where === undefined && realpathSync.native(real) === real && sameIdentity(identityOf(statSync(real, { bigint: true })), opened)) {
      where = real;
    }
  } catch {
    return false;
  }
  return where !== undefined && isWithin(root, where) && !isTempUploadName(path.basename(where));
}
