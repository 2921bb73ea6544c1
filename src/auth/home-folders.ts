import { isStorageError } from '../storage/errors';
import { LocalStorage } from '../storage/local-storage';
import { childPath, parseClientPath, ROOT_PATH, type StoragePath } from '../storage/path-rules';
import type { Storage } from '../storage/storage';

/** A home that cannot be used: outside the root, or not a folder. Operator-facing. */
export class HomeFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HomeFolderError';
  }
}

/**
 * Opens users' home folders as storages rooted there, so each user sees only
 * their home as `/`. Homes are created on first use, one level at a time
 * through the root's own storage — so a symlink on the way that leads out
 * of the root is refused exactly as a client's path would be, and nothing is
 * ever created outside the root — and then scoped with `Storage.scope`, so
 * any backend can hold homes (a folder on disk, a prefix in a bucket).
 *
 * Each call makes a fresh scoped storage, which pins the home as it is now
 * (at login): if the home is later moved or replaced, that session's
 * operations are refused and the next login resolves the home again.
 */
export class HomeFolders {
  constructor(private readonly root: Storage) {}

  /** Open the served root on the local disk (created if missing). */
  static async open(root: string): Promise<HomeFolders> {
    return new HomeFolders(await LocalStorage.create(root, { createRoot: true }));
  }

  /** The whole served root as a storage. */
  get rootStorage(): Storage {
    return this.root;
  }

  /**
   * The storage for `home` (normalised, `/`-separated; `/` is the root),
   * creating missing folders.
   * @throws HomeFolderError when the home leads outside the root or is not a folder.
   */
  async storageFor(home: string): Promise<Storage> {
    const parts = home === '/' ? ROOT_PATH : parseClientPath(home);
    let prefix: StoragePath = ROOT_PATH;
    for (const part of parts) {
      prefix = childPath(prefix, part);
      const shown = prefix.join('/');
      try {
        const entry = await this.root.stat(prefix);
        if (entry.type !== 'dir') throw new HomeFolderError(`home '${home}': '${shown}' is not a folder`);
      } catch (err) {
        if (err instanceof HomeFolderError) throw err;
        if (!isStorageError(err, 'not_found')) throw new HomeFolderError(`home '${home}': '${shown}' is not usable (${(err as Error).message})`);
        await this.root.makeDirectory(prefix).catch((mkdirErr: unknown) => {
          // Another login may have created it a moment ago.
          if (!isStorageError(mkdirErr, 'exists')) {
            throw new HomeFolderError(`home '${home}': cannot create '${shown}' (${(mkdirErr as Error).message})`);
          }
        });
      }
    }
    if (parts.length === 0) return this.root;
    try {
      return await this.root.scope(parts);
    } catch (err) {
      throw new HomeFolderError(`home '${home}' is not usable (${(err as Error).message})`);
    }
  }
}
