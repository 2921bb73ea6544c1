/**
 * Checks that a folder or an open descriptor is still what the storage
 * resolved earlier. Paths are strings, and a string names whatever sits at
 * it *now*: another session's RENAME, or a local user, can put a different
 * folder (or a symlink) at the same path between two calls. These helpers
 * re-check identity (device + inode, and "not a symlink") at the moment of
 * use, so a swap makes the operation fail with 403 instead of landing
 * somewhere else.
 */
import { lstatSync, promises as fsp, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { StorageError } from './errors';
import { errnoCode } from './fs-errors';

/** Device and inode of one file or folder: what stays the same across renames. */
export interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** The identity in `stats` (bigint stats, or number stats as a fallback). */
export function identityOf(stats: BigIntStats | Stats): Identity {
  return { dev: BigInt(stats.dev), ino: BigInt(stats.ino) };
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The message a session sees when its home (or the served root) was swapped under it. */
export const HOME_CHANGED_MESSAGE = 'Home folder was moved or replaced on the server; log in again';

/**
 * The storage's own root is no longer the folder it was opened on (moved
 * away, replaced by another folder or by a symlink). 403 for every operation
 * of that storage: a fresh login resolves the home again.
 */
export class HomeChangedError extends StorageError {
  constructor() {
    super('forbidden', HOME_CHANGED_MESSAGE);
  }
}

/** Something resolved earlier changed before it was used: refuse, never disclose. */
export const CHANGED_MESSAGE = 'Folder changed while in use; try again';

/** See {@link CHANGED_MESSAGE}. */
export class ChangedUnderfootError extends StorageError {
  constructor() {
    super('forbidden', CHANGED_MESSAGE);
  }
}

/**
 * True when the entry at `path` (not followed if it is a link) is a folder
 * with identity `pin`. Errors (gone, not a folder) are simply false.
 */
export async function folderStillIs(path: string, pin: Identity): Promise<boolean> {
  try {
    const stats = await fsp.lstat(path, { bigint: true });
    return stats.isDirectory() && sameIdentity(identityOf(stats), pin);
  } catch {
    return false;
  }
}

/** {@link folderStillIs} for the small-file worker, which works synchronously. */
export function folderStillIsSync(path: string, pin: Identity): boolean {
  try {
    const stats = lstatSync(path, { bigint: true });
    return stats.isDirectory() && sameIdentity(identityOf(stats), pin);
  } catch {
    return false;
  }
}

/**
 * Where an open descriptor really is, from the kernel (`/proc/self/fd/N` on
 * Linux): the path of the file that was opened, whatever the path string
 * used to open it pointed at. `undefined` when the system has no such table
 * (the caller then falls back to comparing identities). A file deleted since
 * it was opened reads as `'/x (deleted)'`, which no confinement check passes.
 */
export async function descriptorPath(fd: number): Promise<string | undefined> {
  try {
    return await fsp.readlink(`/proc/self/fd/${fd}`);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** {@link descriptorPath} for synchronous callers. */
export function descriptorPathSync(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}
