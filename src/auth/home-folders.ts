import path from 'node:path';
import { NotFoundError } from '../protocol/errors';
import { LocalStorage } from '../storage/local-storage';
import { isWithin } from '../storage/resolver';

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
 * ever created outside the root.
 *
 * Each call makes a fresh storage, which pins the home's identity as it is
 * now (at login): if the home is later moved or replaced, that session's
 * operations are refused and the next login resolves the home again.
 * Uploads in flight are tracked per process, not per storage, so the
 * sessions of a home and of the folders above it all see each other's.
 */
export class HomeFolders {
  private constructor(private readonly root: LocalStorage) {}

  /** Open the served root (created if missing). */
  static async open(root: string): Promise<HomeFolders> {
    return new HomeFolders(await LocalStorage.create(root, { createRoot: true }));
  }

  /** The served root, as a real path. */
  get rootPath(): string {
    return this.root.root;
  }

  /** The whole served root as a storage. */
  get rootStorage(): LocalStorage {
    return this.root;
  }

  /**
   * The storage for `home` (normalised, `/`-separated; `/` is the root),
   * creating missing folders.
   * @throws HomeFolderError when the home resolves outside the root or is not a folder.
   */
  async storageFor(home: string): Promise<LocalStorage> {
    const parts = home === '/' ? [] : home.split('/');
    for (let depth = 1; depth <= parts.length; depth += 1) {
      const prefix = parts.slice(0, depth).join('/');
      try {
        const entry = await this.root.stat(prefix);
        if (entry.type !== 'dir') throw new HomeFolderError(`home '${home}': '${prefix}' is not a folder`);
      } catch (err) {
        if (err instanceof HomeFolderError) throw err;
        if (!(err instanceof NotFoundError)) throw new HomeFolderError(`home '${home}': '${prefix}' is not usable (${(err as Error).message})`);
        await this.root.makeDirectory(prefix).catch((mkdirErr: unknown) => {
          // Another login may have created it a moment ago.
          if ((mkdirErr as { code?: number }).code !== 409) {
            throw new HomeFolderError(`home '${home}': cannot create '${prefix}' (${(mkdirErr as Error).message})`);
          }
        });
      }
    }
    const storage = await LocalStorage.create(path.join(this.root.root, ...parts));
    // The checks above already confine it; this guards a swap between them.
    if (!isWithin(this.root.root, storage.root)) throw new HomeFolderError(`home '${home}' resolves outside the served root`);
    return storage;
  }
}
