/**
 * The served root on the local disk: every path is resolved and confined
 * (`resolver.ts`), re-checked at the moment of use (`root-guard.ts`), and fs
 * errors become storage errors in one place (`fs-errors.ts`).
 */
import { constants as fsConstants, createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { StorageError } from './errors';
import { MESSAGES, errnoCode, rethrowMapped } from './fs-errors';
import { identityOf, type Identity } from './identity';
import { listFolder, toEntry } from './listing';
import { renameLocal } from './local-rename';
import { LocalTree, lastPart } from './local-tree';
import { isTempUploadName, type StoragePath } from './path-rules';
import { processRegistry, type StorageRegistry } from './registry';
import { PathResolver } from './resolver';
import { startResumedUpload } from './resume-upload';
import { RootGuard } from './root-guard';
import type {
  DownloadSource,
  ListOptions,
  PendingUpload,
  SmallFile,
  Storage,
  StorageCapabilities,
  StorageEntry,
  UploadOptions,
  WriteOptions,
} from './storage';
import { smallFileReader } from './small-file-reader';
import { removeStaleUploads } from './stale-uploads';
import { startUpload } from './uploads';
import { versionKeyOf } from './version-key';

/** Options of {@link LocalStorage.create}. */
export interface LocalStorageOptions {
  /** Create the root (and its parents) when it does not exist. */
  createRoot?: boolean;
  /**
   * `fsync` each upload before renaming it into place. Off by default: the
   * rename is atomic for readers either way, and fsync only adds crash
   * durability at a real cost per upload.
   */
  fsync?: boolean;
  /**
   * Uploads in flight, space reserved and the rename queue, shared with every
   * storage over the same disk; default the process's one registry.
   */
  registry?: StorageRegistry;
}

// Non-blocking so that a FIFO planted in the tree cannot park a libuv thread
// in open(2); no-follow so a final component swapped for a link after
// realpath fails (ELOOP → forbidden) instead of escaping. Both are absent on Windows.
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

/** Everything the local disk can do. */
const LOCAL_CAPABILITIES: StorageCapabilities = Object.freeze({
  atomicFolderRename: true,
  resumableUploads: true,
  settableMtime: true,
});

/** {@link Storage} confined to one folder of the local file system. */
export class LocalStorage implements Storage {
  readonly capabilities = LOCAL_CAPABILITIES;
  private readonly tree: LocalTree;
  private readonly guard: RootGuard;

  private constructor(
    /** The served root (or home) as a real path (symlinks resolved once, at start). */
    readonly root: string,
    /** The root's identity when this storage was made: checked by every operation. */
    readonly pin: Identity,
    private readonly fsync: boolean,
    private readonly registry: StorageRegistry,
  ) {
    this.guard = new RootGuard(root, pin);
    this.tree = new LocalTree(root, new PathResolver(root), this.guard);
  }

  /**
   * Open the served root. The root is `realpath`ed once here, so later
   * confinement checks compare real paths with real paths, and its identity
   * is pinned: if another folder (or a link) takes its path later, every
   * operation answers `forbidden` instead of following it.
   * @throws a plain Error (for the operator, not a client) if it is missing
   *   or not a folder.
   */
  static async create(root: string, opts: LocalStorageOptions = {}): Promise<LocalStorage> {
    const absolute = path.resolve(root);
    if (opts.createRoot) await fsp.mkdir(absolute, { recursive: true });
    const real = await fsp.realpath(absolute);
    const stats = await fsp.stat(real, { bigint: true });
    if (!stats.isDirectory()) throw new Error(`Served root is not a folder: ${absolute}`);
    return new LocalStorage(real, identityOf(stats), opts.fsync ?? false, opts.registry ?? processRegistry);
  }

  /**
   * The storage rooted at the folder `subpath` (a home), resolved and
   * confined like any path now, and pinned: if it is moved or replaced
   * later, the scoped storage answers `forbidden` to everything.
   */
  scope(subpath: StoragePath): Promise<LocalStorage> {
    return this.guarded(async () => {
      const { real, stats } = await this.tree.existing(subpath);
      if (!stats.isDirectory()) throw new StorageError('not_folder', MESSAGES.notFolder);
      await this.guard.confirm(real, identityOf(stats));
      return new LocalStorage(real, identityOf(stats), this.fsync, this.registry);
    });
  }

  /**
   * Entries of a folder, minus temp uploads, escaping or dangling links and
   * special files. The folder is read through its open descriptor, so its
   * entries are those of the folder that was resolved.
   */
  list(parts: StoragePath, options: ListOptions = {}): Promise<StorageEntry[]> {
    return this.guarded(async () => {
      const { real, stats } = await this.tree.existing(parts);
      if (!stats.isDirectory()) throw new StorageError('not_folder', MESSAGES.notFolder);
      const folder = { real, identity: identityOf(stats) };
      const folderSize = Number(stats.size);
      return this.guard.readFolder(folder, (base) =>
        listFolder(this.tree.resolver, base, { maxReplyBytes: options.maxReplyBytes, folderSize }),
      );
    });
  }

  /** One entry; its `name` is the last part of the path, or `/` for the root. */
  stat(parts: StoragePath): Promise<StorageEntry> {
    return this.guarded(async () => {
      const { real, stats } = await this.tree.existing(parts);
      const entry = toEntry(parts.length === 0 ? '/' : lastPart(parts), stats);
      // Nothing is told before the path is confirmed to still be that file.
      await this.guard.confirm(real, identityOf(stats));
      if (!entry) throw new StorageError('forbidden', MESSAGES.notRegular);
      return entry;
    });
  }

  /**
   * Small files in one hand-off to a worker thread (resolve, confine, open,
   * check what was opened, read, check the root) instead of several
   * thread-pool round trips.
   */
  async readSmall(parts: StoragePath, maxBytes: number): Promise<SmallFile | undefined> {
    const result = await smallFileReader.read(this.root, parts, maxBytes, this.pin);
    return result.kind === 'read' ? result.file : undefined;
  }

  /**
   * Open a regular file once; size and version come from that same handle,
   * and the handle is checked to be inside the root before it is used.
   */
  openRead(parts: StoragePath): Promise<DownloadSource> {
    return this.guarded(async () => {
      const resolved = await this.tree.resolver.resolve(parts);
      if (resolved.kind !== 'found') throw new StorageError('not_found', MESSAGES.notFound);
      const handle = await fsp.open(resolved.real, READ_FLAGS).catch(rethrowMapped);
      try {
        // One round trip: the descriptor's stats, where it is, and the root.
        const statting = handle.stat({ bigint: true });
        const [stats] = await Promise.all([
          statting,
          this.guard.assertOpenedInside(handle.fd, resolved.real, statting.then(identityOf)),
        ]);
        if (stats.isDirectory()) throw new StorageError('is_folder', MESSAGES.isFolder);
        if (!stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
        let closing: Promise<void> | undefined;
        const fd = handle.fd;
        return {
          size: Number(stats.size),
          versionKey: versionKeyOf(stats),
          fd,
          read: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead,
          // Through the descriptor already opened, never by name again; the
          // stream must not close it (close() below does, once).
          createReadStream: (start, end) =>
            end > start ? createReadStream('', { fd, start, end: end - 1, autoClose: false }) : Readable.from([]),
          close: () => (closing ??= handle.close().catch(() => {})),
        };
      } catch (err) {
        await handle.close().catch(() => {});
        return rethrowMapped(err);
      }
    });
  }

  /**
   * Check everything an upload can fail on before the client sends a byte,
   * then create the temporary file beside the target. A target that is a
   * symlink inside the root is replaced at its real location, so the link
   * keeps pointing at the new content. With `replace: false` an existing
   * target is refused now, and again atomically when the upload is
   * published. With an `offset`, the upload resumes the existing file in
   * place (see `resume-upload.ts`).
   */
  beginUpload(parts: StoragePath, options: UploadOptions): Promise<PendingUpload> {
    return this.guarded(async () => {
      if (parts.length === 0) throw new StorageError('is_folder', MESSAGES.isFolder);
      const { replace } = options;
      let folder = await this.tree.parentForCreate(parts);
      const info = await this.tree.resolver.inspect(folder.real, lastPart(parts));
      let target = info.path;
      if (info.kind !== 'none') {
        if (info.stats.isDirectory()) throw new StorageError('is_folder', MESSAGES.isFolder);
        if (!info.stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
        if (info.kind === 'link') {
          target = info.real;
          folder = await this.tree.pinFolder(path.dirname(target));
        }
      }
      const offset = options.offset ?? 0;
      if (offset > 0) {
        if (info.kind === 'none') throw new StorageError('not_found', MESSAGES.notFound);
        await this.guard.recheck(folder);
        return startResumedUpload({ target, offset, replace, fsync: this.fsync, guard: this.guard });
      }
      if (info.kind !== 'none' && !replace) throw new StorageError('permission_denied', MESSAGES.replaceNeedsDelete);
      return startUpload({ target, folder, size: options.size, replace, fsync: this.fsync, registry: this.registry, guard: this.guard });
    });
  }

  /**
   * Delete a file. A symlink is removed itself, never its target: the link is
   * the name the client asked to delete, and the file it points to may be
   * reachable (and wanted) under its own name.
   */
  deleteFile(parts: StoragePath): Promise<void> {
    return this.guarded(async () => {
      if (parts.length === 0) throw new StorageError('is_folder', MESSAGES.isFolder);
      const info = await this.tree.inspectExisting(parts);
      if (info.stats.isDirectory()) throw new StorageError('is_folder', MESSAGES.isFolder);
      if (!info.stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
      await this.guard.recheck(info.parent);
      await fsp.unlink(info.path).catch(rethrowMapped);
    });
  }

  /** Make one folder; its parent must exist, and nothing may hold the name. */
  makeDirectory(parts: StoragePath): Promise<void> {
    return this.guarded(async () => {
      if (parts.length === 0) throw new StorageError('exists', MESSAGES.exists);
      const folder = await this.tree.parentForCreate(parts);
      const info = await this.tree.resolver.inspect(folder.real, lastPart(parts));
      if (info.kind !== 'none') throw new StorageError('exists', MESSAGES.exists);
      await this.guard.recheck(folder);
      await fsp.mkdir(info.path).catch(rethrowMapped);
    });
  }

  /**
   * Remove an empty folder. Stale temporary uploads (from a killed process)
   * are invisible to clients, so a folder holding only those is empty: they
   * are deleted, then the folder. A temp file of an upload still in flight
   * (through any storage of this process) counts as content (`not_empty`) —
   * it is about to become a file there.
   * A symlink to an empty folder is removed itself, leaving its target.
   */
  removeDirectory(parts: StoragePath): Promise<void> {
    return this.guarded(async () => {
      if (parts.length === 0) throw new StorageError('forbidden', MESSAGES.root);
      const info = await this.tree.inspectExisting(parts);
      if (!info.stats.isDirectory()) throw new StorageError('not_folder', MESSAGES.notFolder);
      if (info.kind === 'link') {
        await this.assertEmpty(info.real, false);
        await this.guard.recheck(info.parent);
        await fsp.unlink(info.path).catch(rethrowMapped);
        return;
      }
      // Checked before the stale temps are unlinked too: those are writes.
      await this.guard.recheck(info.parent);
      await this.assertEmpty(info.path, true);
      await this.guard.recheck(info.parent);
      await fsp.rmdir(info.path).catch(rethrowMapped);
    });
  }

  /**
   * Rename within the root (see `local-rename.ts`). Renames of this process
   * run one at a time, so the symlink check of one stays true until it is done.
   */
  rename(from: StoragePath, to: StoragePath, options: WriteOptions): Promise<void> {
    return this.guarded(() => this.registry.exclusiveRename(() => renameLocal(this.tree, from, to, options.replace)));
  }

  /** Set a file's modification time (the access time is kept). */
  setModificationTime(parts: StoragePath, mtime: Date): Promise<void> {
    return this.guarded(async () => {
      const info = await this.tree.inspectExisting(parts);
      if (!info.stats.isFile()) throw new StorageError(info.stats.isDirectory() ? 'is_folder' : 'forbidden', info.stats.isDirectory() ? MESSAGES.isFolder : MESSAGES.notRegular);
      const real = info.kind === 'link' ? info.real : info.path;
      await this.guard.recheck(info.parent);
      await fsp.utimes(real, info.stats.atime, mtime).catch(rethrowMapped);
    });
  }

  /** Delete temp upload files left anywhere under the root (not those in flight). */
  removeStaleUploads(): Promise<number> {
    return removeStaleUploads(this.root, this.registry.inFlight());
  }

  /** Run an operation; a refusal caused by the root itself changing says so. */
  private async guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      return this.guard.explain(err);
    }
  }

  /**
   * `not_empty` unless `folder` holds nothing but stale temp uploads; with
   * `removeStale` those are deleted so the folder can be removed.
   */
  private async assertEmpty(folder: string, removeStale: boolean): Promise<void> {
    const names = await fsp.readdir(folder).catch(rethrowMapped);
    const temps = names.filter(isTempUploadName).map((name) => path.join(folder, name));
    if (temps.length < names.length || temps.some((temp) => this.registry.isInFlight(temp))) {
      throw new StorageError('not_empty', MESSAGES.notEmpty);
    }
    if (!removeStale) return;
    for (const temp of temps) {
      await fsp.unlink(temp).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') rethrowMapped(err);
      });
    }
  }
}
