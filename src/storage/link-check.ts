/**
 * The RENAME rule: a rename must never leave a symlink that leads outside
 * the storage's root. Clients cannot create symlinks, but they can move the
 * ones a local user or the operator made, and a relative link resolves from
 * wherever it lies: `d1/lnk -> ../b` leads to `b` inside `d1`, but renamed
 * to the root it leads to the root's sibling. A session whose home path is
 * then that link, or an LS racing the rename, would work outside the root.
 *
 * So before a rename, every link that moves (the source itself, or each one
 * inside a folder source) is resolved as it will be *after* the move: the
 * resolution is simulated component by component on the current tree, with
 * paths under the destination read from the source, and the source's old
 * place treated as gone. A link that would lead outside, or nowhere, or that
 * cannot be checked within the bounds, refuses the rename with 403: a rename
 * is refused when it cannot be proven safe.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { StorageError } from './errors';
import { MESSAGES } from './fs-errors';
import { isWithin } from './resolver';

/** Entries a folder source may hold (all depths) before the check gives up. */
export const MAX_MOVED_ENTRIES = 100_000;
/** Symlinks followed while resolving one link (Linux's own limit is 40). */
const MAX_HOPS = 40;
/** Components looked up while resolving one link, hops included. */
const MAX_STEPS = 4_096;

/** One rename, as real paths: the entry that moves (not followed) and its new name. */
export interface Move {
  /** The source's own path (a link is the link, not its target). */
  from: string;
  /** The destination path, in a real folder. */
  to: string;
}

/** Where the path `virtual` of the tree after `move` is found in the tree now; null if it will be gone. */
function beforeMove(virtual: string, move: Move): string | null {
  if (isWithin(move.to, virtual)) return path.join(move.from, path.relative(move.to, virtual));
  if (isWithin(move.from, virtual)) return null;
  return virtual;
}

/**
 * The real path (in the tree after `move`) that a symlink with target
 * `target`, lying in the folder `linkFolder` after the move, will lead to;
 * undefined when it will not resolve (missing, a file mid-path, a loop, or
 * past the bounds). Mirrors the kernel: components in order, `..` taken on
 * the folder reached so far (always a real path here), links expanded in
 * place, absolute targets restarting from `/`.
 */
export async function resolveAfterMove(linkFolder: string, target: string, move: Move): Promise<string | undefined> {
  let pending = target.split('/');
  let current = path.isAbsolute(target) ? '/' : linkFolder;
  let hops = 0;
  let steps = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (++steps > MAX_STEPS) return undefined;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const candidate = path.join(current, part);
    const now = beforeMove(candidate, move);
    if (now === null) return undefined;
    let stats;
    try {
      stats = await fsp.lstat(now);
    } catch {
      return undefined;
    }
    if (stats.isSymbolicLink()) {
      if (++hops > MAX_HOPS) return undefined;
      const next = await fsp.readlink(now).catch(() => undefined);
      if (next === undefined) return undefined;
      pending = [...next.split('/'), ...pending];
      if (path.isAbsolute(next)) current = '/';
      continue;
    }
    // Anything after a non-folder (even `.` or a trailing `/`) is ENOTDIR.
    if (!stats.isDirectory() && pending.some((rest) => rest !== '')) return undefined;
    current = candidate;
  }
  return current;
}

/**
 * Refuse (403) unless every symlink that `move` carries will resolve inside
 * `root` afterwards. `kind` says what the source is: a link (checked
 * itself), a folder (walked, bounded, without following links) or a file
 * (nothing to check).
 */
export async function assertMoveKeepsLinksInside(
  root: string,
  move: Move,
  kind: 'link' | 'dir' | 'file',
  maxEntries = MAX_MOVED_ENTRIES,
): Promise<void> {
  if (kind === 'file') return;
  const links = kind === 'link' ? [''] : await linksInside(move.from, maxEntries);
  for (const relative of links) {
    const now = relative === '' ? move.from : path.join(move.from, relative);
    const after = relative === '' ? move.to : path.join(move.to, relative);
    const target = await fsp.readlink(now).catch(() => undefined);
    const lands = target === undefined ? undefined : await resolveAfterMove(path.dirname(after), target, move);
    if (lands === undefined || !isWithin(root, lands)) throw new StorageError('forbidden', MESSAGES.linkWouldEscape);
  }
}

/**
 * Paths (relative to `folder`) of every symlink below it, links not
 * followed. Reads folders as streams and gives up (403) past `maxEntries`
 * entries, so a huge tree costs bounded work.
 */
async function linksInside(folder: string, maxEntries: number): Promise<string[]> {
  const links: string[] = [];
  const pending = [''];
  let seen = 0;
  while (pending.length > 0) {
    const relative = pending.pop() as string;
    const dir = await fsp.opendir(path.join(folder, relative)).catch(() => undefined);
    // A folder that cannot be read cannot be proven free of links.
    if (!dir) throw new StorageError('forbidden', MESSAGES.linkWouldEscape);
    for await (const dirent of dir) {
      if (++seen > maxEntries) throw new StorageError('forbidden', MESSAGES.tooManyToCheck);
      const child = path.join(relative, dirent.name);
      const kind = await kindOf(path.join(folder, child), dirent);
      if (kind === 'link') links.push(child);
      else if (kind === 'dir') pending.push(child);
    }
  }
  return links;
}

async function kindOf(full: string, dirent: Dirent): Promise<'link' | 'dir' | 'other'> {
  if (dirent.isSymbolicLink()) return 'link';
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isFile() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) return 'other';
  // DT_UNKNOWN on some file systems: ask.
  const stats = await fsp.lstat(full).catch(() => undefined);
  if (!stats) return 'other';
  return stats.isSymbolicLink() ? 'link' : stats.isDirectory() ? 'dir' : 'other';
}
