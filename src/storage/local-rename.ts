/**
 * RENAME on the local disk: the checks of the contract (source, destination,
 * kinds, replace), the symlink rule of `link-check.ts`, and the move itself,
 * atomic whichever way it goes.
 */
import { promises as fsp } from 'node:fs';
import { StorageError } from './errors';
import { MESSAGES, errnoCode, rethrowMapped } from './fs-errors';
import { assertMoveKeepsLinksInside } from './link-check';
import type { LocalTree, Located } from './local-tree';
import type { StoragePath } from './path-rules';
import { isWithin } from './resolver';
import { moveIntoPlace } from './temp-files';

/**
 * Rename `from` to `to` within `tree`; a file at `to` is replaced atomically
 * (unless `replace` is false: then `permission_denied` and the file stays).
 * Names are moved as they are: a symlink source moves the link, a symlink
 * destination is replaced by the source (its target is left alone), as
 * `rename(2)` does. A rename that would leave a moved symlink leading
 * outside the root is refused.
 */
export async function renameLocal(tree: LocalTree, from: StoragePath, to: StoragePath, replace: boolean): Promise<void> {
  if (from.length === 0) throw new StorageError('forbidden', MESSAGES.root);
  const source: Located = await tree.inspectExisting(from);
  const sourceIsDir = source.stats.isDirectory();
  if (!sourceIsDir && !source.stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
  if (to.length === 0) throw new StorageError('exists', MESSAGES.exists);
  const folder = await tree.parentForCreate(to);
  const dest = await tree.resolver.inspect(folder.real, to[to.length - 1]);
  if (dest.path === source.path) return;
  if (dest.kind !== 'none') {
    if (dest.stats.isDirectory()) throw new StorageError('exists', MESSAGES.exists);
    if (!dest.stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
    if (sourceIsDir) throw new StorageError('exists', MESSAGES.exists);
    // A link renamed over its own target would destroy the file and leave
    // a link pointing at itself.
    if (source.kind === 'link' && dest.kind === 'entry' && dest.path === source.real) {
      throw new StorageError('invalid_move', MESSAGES.sameFile);
    }
    if (!replace) throw new StorageError('permission_denied', MESSAGES.replaceNeedsDelete);
  }
  if (source.kind === 'entry' && sourceIsDir && isWithin(source.path, dest.path)) {
    throw new StorageError('invalid_move', MESSAGES.intoItself);
  }
  const kind = source.kind === 'link' ? 'link' : sourceIsDir ? 'dir' : 'file';
  await assertMoveKeepsLinksInside(tree.root, { from: source.path, to: dest.path }, kind);
  await Promise.all([tree.guard.recheck(source.parent), tree.guard.recheck(folder)]);
  // A folder is moved with rename(2) even without replace: it replaces
  // only an empty folder (checked absent just now), so nothing is lost.
  const move = kind === 'dir' ? fsp.rename(source.path, dest.path) : moveIntoPlace(source.path, dest.path, replace);
  await move.catch((err: unknown) => {
    if (errnoCode(err) === 'EINVAL') throw new StorageError('invalid_move', MESSAGES.intoItself);
    return rethrowMapped(err);
  });
}
