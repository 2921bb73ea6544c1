/**
 * Cleanup of temporary upload files left by a process that was killed
 * mid-upload. Runs over the whole served tree, so it is iterative (no deep
 * recursion on a deep tree), bounded in concurrency, and never follows
 * symlinks (a link could lead out of the root, or round in a loop).
 */
import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { mapBounded } from './bounded';
import { isTempUploadName } from './path-rules';

/** Folders read at once during the walk. */
const WALK_CONCURRENCY = 8;

type Kind = 'dir' | 'file' | 'other';

/** The kind of a dirent, asking the disk only when the file system did not say. */
async function kindOf(folder: string, dirent: Dirent): Promise<Kind> {
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isFile()) return 'file';
  const known =
    dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() ||
    dirent.isBlockDevice() || dirent.isCharacterDevice();
  if (known) return 'other';
  // DT_UNKNOWN (some file systems): lstat, which does not follow links.
  try {
    const stats = await fsp.lstat(path.join(folder, dirent.name));
    return stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * Unlink every temporary upload file under `root`, except those in `active`
 * (uploads of this process still in flight). Folders that vanish or cannot be
 * read during the walk are skipped: cleanup is best effort.
 * @returns how many files were removed.
 */
export async function removeStaleUploads(root: string, active: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  const pending: string[] = [root];
  while (pending.length > 0) {
    const batch = pending.splice(0, WALK_CONCURRENCY * 4);
    await mapBounded(batch, WALK_CONCURRENCY, async (folder) => {
      let dirents: Dirent[];
      try {
        dirents = await fsp.readdir(folder, { withFileTypes: true });
      } catch {
        return;
      }
      for (const dirent of dirents) {
        const kind = await kindOf(folder, dirent);
        const full = path.join(folder, dirent.name);
        if (kind === 'dir') {
          pending.push(full);
        } else if (kind === 'file' && isTempUploadName(dirent.name) && !active.has(full)) {
          try {
            await fsp.unlink(full);
            removed++;
          } catch {
            // Gone already, or not ours to delete: best effort, keep walking.
          }
        }
      }
    });
  }
  return removed;
}
