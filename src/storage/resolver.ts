/**
 * The disk half of the path rules: join parsed parts onto the real root,
 * follow symlinks, and prove the result is still inside the root.
 *
 * Confinement is checked with `path.relative`, never `startsWith`: a root of
 * `/srv/root` must not accept `/srv/root_evil/x`, and a child legitimately
 * named `..foo` must not be mistaken for a way out.
 *
 * Resolving proves a path is inside at that moment only. Clients cannot
 * create symlinks, but they can RENAME the ones that exist, and folders, so
 * the storage also checks at the moment of use (`root-guard.ts`) and refuses
 * renames that would make a moved link lead out (`link-check.ts`).
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { StorageError, isStorageError } from './errors';
import { FORBIDDEN_PATH_MESSAGE, errnoCode, rethrowMapped } from './fs-errors';
import { isTempUploadName } from './path-rules';

/**
 * True when absolute path `inner` is `outer` or below it. `..foo` is a child
 * name, not a way up, so only a first segment of exactly `..` means outside.
 */
export function isWithin(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  if (rel === '') return true;
  if (path.isAbsolute(rel)) return false; // another drive on Windows
  return rel !== '..' && !rel.startsWith(`..${path.sep}`);
}

/** Where resolving a list of parts ended. */
export type Resolution =
  /** Every part exists; `real` is the symlink-free path, inside the root. */
  | { kind: 'found'; real: string }
  /** `parts[index]` is absent from a folder that is itself inside the root. */
  | { kind: 'missing'; index: number }
  /** `parts[index]` exists but is not a folder, and more parts follow it. */
  | { kind: 'blocked'; index: number };

/** What sits at one name inside a folder already known to be in the root. */
export type NameInfo =
  | { kind: 'none'; path: string }
  /** A real entry; `stats` from `lstat`. */
  | { kind: 'entry'; path: string; stats: Stats }
  /** A symlink resolving inside the root; `stats` describe its target. */
  | { kind: 'link'; path: string; real: string; stats: Stats };

/** Resolves client parts against one real root. */
export class PathResolver {
  /** @param root an absolute path that is already a `realpath`. */
  constructor(readonly root: string) {}

  /** True when the real path `real` is the root or below it. */
  isInside(real: string): boolean {
    return isWithin(this.root, real);
  }

  /**
   * Resolve `parts` as far as they exist. Anything that resolves outside the
   * root, or that cannot be resolved at all (dangling link, link loop),
   * throws `ForbiddenError` with {@link FORBIDDEN_PATH_MESSAGE}, before the
   * caller could learn whether the outside target exists.
   */
  async resolve(parts: readonly string[]): Promise<Resolution> {
    if (parts.length === 0) return { kind: 'found', real: this.root };
    // Fast path: one realpath call for the common case of a path that exists.
    try {
      const real = await fsp.realpath(path.join(this.root, ...parts));
      return { kind: 'found', real: this.confine(real) };
    } catch (err) {
      if (isStorageError(err, 'forbidden')) throw err;
      // Missing, a file in the middle, a dangling link or a loop: the walk
      // below tells them apart, checking each prefix against the root first.
    }
    return this.walk(parts);
  }

  /**
   * Part by part with `lstat`, so that a missing name (404) is reported only
   * once everything before it is known to be inside the root, and a dangling
   * or escaping link is a 403 however much follows it.
   */
  private async walk(parts: readonly string[]): Promise<Resolution> {
    let current = this.root;
    for (let index = 0; index < parts.length; index++) {
      const candidate = path.join(current, parts[index]);
      let stats: Stats;
      try {
        stats = await fsp.lstat(candidate);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') return { kind: 'missing', index };
        // Only reachable if the previous part changed kind under us.
        if (code === 'ENOTDIR') return { kind: 'blocked', index: Math.max(0, index - 1) };
        return rethrowMapped(err);
      }
      if (stats.isSymbolicLink()) {
        current = await this.followLink(candidate);
        stats = await fsp.stat(current).catch(rethrowMapped);
      } else {
        current = candidate;
      }
      if (index < parts.length - 1 && !stats.isDirectory()) return { kind: 'blocked', index };
    }
    return { kind: 'found', real: current };
  }

  /**
   * The real path of the symlink at `linkPath`, which must resolve inside the
   * root. Every failure — dangling, loop, unreadable, outside — is the same
   * 403, so the answer says nothing about the world outside.
   */
  async followLink(linkPath: string): Promise<string> {
    let real: string;
    try {
      real = await fsp.realpath(linkPath);
    } catch {
      throw new StorageError('forbidden', FORBIDDEN_PATH_MESSAGE);
    }
    return this.confine(real);
  }

  /**
   * Describe the name `name` inside `folder` (a real folder in the root)
   * without following it blindly: a symlink is followed only if it resolves
   * inside the root (else 403).
   */
  async inspect(folder: string, name: string): Promise<NameInfo> {
    const full = path.join(folder, name);
    let stats: Stats;
    try {
      stats = await fsp.lstat(full);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { kind: 'none', path: full };
      return rethrowMapped(err);
    }
    if (!stats.isSymbolicLink()) return { kind: 'entry', path: full, stats };
    const real = await this.followLink(full);
    const target = await fsp.stat(real).catch(rethrowMapped);
    return { kind: 'link', path: full, real, stats: target };
  }

  /**
   * Return `real` if it is inside the root, else throw the standard 403.
   * A real path landing on a temporary upload file (through a link made by
   * someone with shell access) is refused too: those are never served.
   */
  private confine(real: string): string {
    if (!this.isInside(real) || isTempUploadName(path.basename(real))) {
      throw new StorageError('forbidden', FORBIDDEN_PATH_MESSAGE);
    }
    return real;
  }
}
