/**
 * The served root on the local disk: every client path is parsed
 * (`path-rules.ts`), resolved and confined (`resolver.ts`) here, and fs
 * errors become protocol errors in one place (`fs-errors.ts`).
 *
 * A file in the middle of a path ("parent is a file") is answered
 * consistently by what the command does: commands that create a name (PUT,
 * MKDIR, the RENAME destination) get 409, because the name cannot be made;
 * commands that look a name up (LS, STAT, GET, DELETE, RMDIR, the RENAME
 * source) get 404, because nothing by that name exists.
 */
import { constants as fsConstants, promises as fsp, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
} from '../protocol/errors';
import type { FileEntry } from '../protocol/messages';
import { MESSAGES, errnoCode, rethrowMapped } from './fs-errors';
import { identityOf, type Identity } from './identity';
import { assertMoveKeepsLinksInside } from './link-check';
import { listFolder, toEntry } from './listing';
import { isTempUploadName, parseClientPath } from './path-rules';
import { processRegistry, type StorageRegistry } from './registry';
import { PathResolver, isWithin, type NameInfo } from './resolver';
import { RootGuard, type PinnedFolder } from './root-guard';
import type { ListOptions, OpenedFile, PendingUpload, SmallFile, Storage, WriteOptions } from './storage';
import { smallFileReader } from './small-file-reader';
import { moveIntoPlace } from './temp-files';
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
// realpath fails (ELOOP → 403) instead of escaping. Both are absent on Windows.
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

function lastPart(parts: readonly string[]): string {
  return parts[parts.length - 1] as string;
}

/** An existing entry and the folder it is in, as resolved. */
type Located = Exclude<NameInfo, { kind: 'none' }> & { parent: PinnedFolder };

/** {@link Storage} confined to one folder of the local file system. */
export class LocalStorage implements Storage {
  private readonly resolver: PathResolver;
  private readonly guard: RootGuard;

  private constructor(
    /** The served root (or home) as a real path (symlinks resolved once, at start). */
    readonly root: string,
    /** The root's identity when this storage was made: checked by every operation. */
    readonly pin: Identity,
    private readonly fsync: boolean,
    private readonly registry: StorageRegistry,
  ) {
    this.resolver = new PathResolver(root);
    this.guard = new RootGuard(root, pin);
  }

  /**
   * Open the served root (or a home). The root is `realpath`ed once here, so
   * later confinement checks compare real paths with real paths, and its
   * identity is pinned: if another folder (or a link) takes its path later,
   * every operation answers 403 instead of following it.
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
   * Entries of a folder, minus temp uploads, escaping or dangling links and
   * special files. The folder is read through its open descriptor, so its
   * entries are those of the folder that was resolved.
   */
  list(rawPath: string | undefined, options: ListOptions = {}): Promise<FileEntry[]> {
    return this.guarded(async () => {
      const parts = rawPath === undefined ? [] : parseClientPath(rawPath);
      const { real, stats } = await this.existing(parts);
      if (!stats.isDirectory()) throw new ConflictError(MESSAGES.notFolder);
      const folder = { real, identity: identityOf(stats) };
      const folderSize = Number(stats.size);
      return this.guard.readFolder(folder, (base) => listFolder(this.resolver, base, { maxBytes: options.maxBytes, folderSize }));
    });
  }

  /** One entry; its `name` is the last part of the path, or `/` for the root. */
  stat(rawPath: string): Promise<FileEntry> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      const { real, stats } = await this.existing(parts);
      const entry = toEntry(parts.length === 0 ? '/' : lastPart(parts), stats);
      // Nothing is told before the path is confirmed to still be that file.
      await this.guard.confirm(real, identityOf(stats));
      if (!entry) throw new ForbiddenError(MESSAGES.notRegular);
      return entry;
    });
  }

  /**
   * Small files in one hand-off to a worker thread (resolve, confine, open,
   * check what was opened, read, check the root) instead of several
   * thread-pool round trips.
   */
  async readSmall(rawPath: string, maxBytes: number): Promise<SmallFile | undefined> {
    const parts = parseClientPath(rawPath);
    const result = await smallFileReader.read(this.root, parts, maxBytes, this.pin);
    return result.kind === 'read' ? result.file : undefined;
  }

  /**
   * Open a regular file once; size and version come from that same handle,
   * and the handle is checked to be inside the root before it is used.
   */
  openRead(rawPath: string): Promise<OpenedFile> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      const resolved = await this.resolver.resolve(parts);
      if (resolved.kind !== 'found') throw new NotFoundError(MESSAGES.notFound);
      const handle = await fsp.open(resolved.real, READ_FLAGS).catch(rethrowMapped);
      try {
        // One round trip: the descriptor's stats, where it is, and the root.
        const statting = handle.stat({ bigint: true });
        const [stats] = await Promise.all([
          statting,
          this.guard.assertOpenedInside(handle.fd, resolved.real, statting.then(identityOf)),
        ]);
        if (stats.isDirectory()) throw new ConflictError(MESSAGES.isFolder);
        if (!stats.isFile()) throw new ForbiddenError(MESSAGES.notRegular);
        let closing: Promise<void> | undefined;
        return {
          handle,
          size: Number(stats.size),
          versionKey: versionKeyOf(stats),
          close: () => (closing ??= handle.close().catch(() => {})),
        };
      } catch (err) {
        await handle.close().catch(() => {});
        return rethrowMapped(err);
      }
    });
  }

  /**
   * Check everything a PUT can fail on before the client sends a byte, then
   * create the temporary file beside the target. A target that is a symlink
   * inside the root is replaced at its real location, so the link keeps
   * pointing at the new content. With `replace: false` an existing target is
   * refused now, and again atomically when the upload is published.
   */
  beginUpload(rawPath: string, size: number, options: WriteOptions = {}): Promise<PendingUpload> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      if (parts.length === 0) throw new ConflictError(MESSAGES.isFolder);
      if (!Number.isSafeInteger(size) || size < 0) throw new BadRequestError('Invalid size');
      const replace = options.replace ?? true;
      let folder = await this.parentForCreate(parts);
      const info = await this.resolver.inspect(folder.real, lastPart(parts));
      let target = info.path;
      if (info.kind !== 'none') {
        if (info.stats.isDirectory()) throw new ConflictError(MESSAGES.isFolder);
        if (!info.stats.isFile()) throw new ForbiddenError(MESSAGES.notRegular);
        if (!replace) throw new ForbiddenError(MESSAGES.replaceNeedsDelete);
        if (info.kind === 'link') {
          target = info.real;
          folder = await this.pinFolder(path.dirname(target));
        }
      }
      return startUpload({ target, folder, size, replace, fsync: this.fsync, registry: this.registry, guard: this.guard });
    });
  }

  /**
   * Delete a file. A symlink is removed itself, never its target: the link is
   * the name the client asked to delete, and the file it points to may be
   * reachable (and wanted) under its own name.
   */
  deleteFile(rawPath: string): Promise<void> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      if (parts.length === 0) throw new ConflictError(MESSAGES.isFolder);
      const info = await this.inspectExisting(parts);
      if (info.stats.isDirectory()) throw new ConflictError(MESSAGES.isFolder);
      if (!info.stats.isFile()) throw new ForbiddenError(MESSAGES.notRegular);
      await this.guard.recheck(info.parent);
      await fsp.unlink(info.path).catch(rethrowMapped);
    });
  }

  /** Make one folder; its parent must exist, and nothing may hold the name. */
  makeDirectory(rawPath: string): Promise<void> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      if (parts.length === 0) throw new ConflictError(MESSAGES.exists);
      const folder = await this.parentForCreate(parts);
      const info = await this.resolver.inspect(folder.real, lastPart(parts));
      if (info.kind !== 'none') throw new ConflictError(MESSAGES.exists);
      await this.guard.recheck(folder);
      await fsp.mkdir(info.path).catch(rethrowMapped);
    });
  }

  /**
   * Remove an empty folder. Stale temporary uploads (from a killed process)
   * are invisible to clients, so a folder holding only those is empty: they
   * are deleted, then the folder. A temp file of an upload still in flight
   * (through any storage of this process) counts as content (409) — it is
   * about to become a file there.
   * A symlink to an empty folder is removed itself, leaving its target.
   */
  removeDirectory(rawPath: string): Promise<void> {
    return this.guarded(async () => {
      const parts = parseClientPath(rawPath);
      if (parts.length === 0) throw new ForbiddenError(MESSAGES.root);
      const info = await this.inspectExisting(parts);
      if (!info.stats.isDirectory()) throw new ConflictError(MESSAGES.notFolder);
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
   * Rename within the root; a file at `to` is replaced atomically (unless
   * `replace: false`: then 403 and the file stays). Names are moved as they
   * are: a symlink source moves the link, a symlink destination is replaced
   * by the source (its target is left alone), as `rename(2)` does. A rename
   * that would leave a moved symlink leading outside the root is refused
   * (see `link-check.ts`); renames of this process run one at a time so
   * that check stays true until the rename is done.
   */
  rename(rawFrom: string, rawTo: string, options: WriteOptions = {}): Promise<void> {
    return this.guarded(() => {
      const from = parseClientPath(rawFrom);
      const to = parseClientPath(rawTo);
      return this.registry.exclusiveRename(() => this.renameNow(from, to, options.replace ?? true));
    });
  }

  private async renameNow(from: string[], to: string[], replace: boolean): Promise<void> {
    if (from.length === 0) throw new ForbiddenError(MESSAGES.root);
    const source = await this.inspectExisting(from);
    const sourceIsDir = source.stats.isDirectory();
    if (!sourceIsDir && !source.stats.isFile()) throw new ForbiddenError(MESSAGES.notRegular);
    if (to.length === 0) throw new ConflictError(MESSAGES.exists);
    const folder = await this.parentForCreate(to);
    const dest = await this.resolver.inspect(folder.real, lastPart(to));
    if (dest.path === source.path) return;
    if (dest.kind !== 'none') {
      if (dest.stats.isDirectory()) throw new ConflictError(MESSAGES.exists);
      if (!dest.stats.isFile()) throw new ForbiddenError(MESSAGES.notRegular);
      if (sourceIsDir) throw new ConflictError(MESSAGES.exists);
      // A link renamed over its own target would destroy the file and leave
      // a link pointing at itself.
      if (source.kind === 'link' && dest.kind === 'entry' && dest.path === source.real) {
        throw new ConflictError(MESSAGES.sameFile);
      }
      if (!replace) throw new ForbiddenError(MESSAGES.replaceNeedsDelete);
    }
    if (source.kind === 'entry' && sourceIsDir && isWithin(source.path, dest.path)) {
      throw new ConflictError(MESSAGES.intoItself);
    }
    const kind = source.kind === 'link' ? 'link' : sourceIsDir ? 'dir' : 'file';
    await assertMoveKeepsLinksInside(this.root, { from: source.path, to: dest.path }, kind);
    await Promise.all([this.guard.recheck(source.parent), this.guard.recheck(folder)]);
    // A folder is moved with rename(2) even without replace: it replaces
    // only an empty folder (checked absent just now), so nothing is lost.
    const move = kind === 'dir' ? fsp.rename(source.path, dest.path) : moveIntoPlace(source.path, dest.path, replace);
    await move.catch((err: unknown) => {
      if (errnoCode(err) === 'EINVAL') throw new ConflictError(MESSAGES.intoItself);
      return rethrowMapped(err);
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

  /** Lookup semantics: anything missing along the way is 404. */
  private async existing(parts: readonly string[]): Promise<{ real: string; stats: BigIntStats }> {
    const resolved = await this.resolver.resolve(parts);
    if (resolved.kind !== 'found') throw new NotFoundError(MESSAGES.notFound);
    const stats = await fsp.stat(resolved.real, { bigint: true }).catch(rethrowMapped);
    return { real: resolved.real, stats };
  }

  /** The last part's own entry (a link is not followed past the check) and its folder, or 404. */
  private async inspectExisting(parts: readonly string[]): Promise<Located> {
    const { real, stats } = await this.existing(parts.slice(0, -1));
    if (!stats.isDirectory()) throw new NotFoundError(MESSAGES.notFound);
    const info = await this.resolver.inspect(real, lastPart(parts));
    if (info.kind === 'none') throw new NotFoundError(MESSAGES.notFound);
    return { ...info, parent: { real, identity: identityOf(stats) } };
  }

  /** Creation semantics: the parent must exist (404) and be a folder (409). */
  private async parentForCreate(parts: readonly string[]): Promise<PinnedFolder> {
    const resolved = await this.resolver.resolve(parts.slice(0, -1));
    if (resolved.kind === 'missing') throw new NotFoundError(MESSAGES.parentNotFound);
    if (resolved.kind === 'blocked') throw new ConflictError(MESSAGES.parentIsFile);
    const stats = await fsp.stat(resolved.real, { bigint: true }).catch(rethrowMapped);
    if (!stats.isDirectory()) throw new ConflictError(MESSAGES.parentIsFile);
    return { real: resolved.real, identity: identityOf(stats) };
  }

  /** The identity of a real folder already known to be inside the root. */
  private async pinFolder(real: string): Promise<PinnedFolder> {
    const stats = await fsp.lstat(real, { bigint: true }).catch(rethrowMapped);
    if (!stats.isDirectory()) throw new ConflictError(MESSAGES.parentIsFile);
    return { real, identity: identityOf(stats) };
  }

  /**
   * 409 unless `folder` holds nothing but stale temp uploads; with `removeStale`
   * those are deleted so the folder can be removed.
   */
  private async assertEmpty(folder: string, removeStale: boolean): Promise<void> {
    const names = await fsp.readdir(folder).catch(rethrowMapped);
    const temps = names.filter(isTempUploadName).map((name) => path.join(folder, name));
    if (temps.length < names.length || temps.some((temp) => this.registry.isInFlight(temp))) {
      throw new ConflictError(MESSAGES.notEmpty);
    }
    if (!removeStale) return;
    for (const temp of temps) {
      await fsp.unlink(temp).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') rethrowMapped(err);
      });
    }
  }
}
