/**
 * Confinement at the moment of use. The resolver proves a path is inside the
 * root when it resolves it; these checks prove it still holds when the file
 * system is touched:
 *
 * - the storage's root (a user's home) is pinned by identity when the
 *   storage is made, and every operation checks it is still that folder at
 *   that path, not something moved or linked in its place;
 * - reads check what was actually opened (the descriptor's real path);
 * - listings read the folder through its open descriptor, so a folder swapped
 *   while its entries are described cannot lend them its place;
 * - a write re-checks the identity of the folder it writes in right before
 *   the syscall.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { StorageError } from './errors';
import { errnoCode, mapFsError } from './fs-errors';
import {
  ChangedUnderfootError,
  HomeChangedError,
  descriptorPath,
  folderStillIs,
  identityOf,
  sameIdentity,
  type Identity,
} from './identity';
import { isTempUploadName } from './path-rules';
import { isWithin } from './resolver';

const FOLDER_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_DIRECTORY ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

/** A real folder and the identity it had when it was resolved. */
export interface PinnedFolder {
  real: string;
  identity: Identity;
}

/** Failures of the server's side, never caused by the path the client asked for. */
const SERVER_SIDE: ReadonlySet<StorageError['kind']> = new Set(['no_space', 'unavailable', 'io']);

/** See the module comment. One per storage. */
export class RootGuard {
  constructor(
    /** The storage's root, a real path. */
    readonly root: string,
    /** Its identity when the storage was made (at login, for a home). */
    readonly pin: Identity,
  ) {}

  /** 403 unless the root is still the folder that was pinned. */
  async assertRoot(): Promise<void> {
    if (!(await folderStillIs(this.root, this.pin))) throw new HomeChangedError();
  }

  /**
   * Right before a write in `folder`: the folder and the root are still the
   * ones resolved (one `lstat` each, in parallel), else 403.
   */
  async recheck(folder: PinnedFolder): Promise<void> {
    const [rootOk, folderOk] = await Promise.all([
      folderStillIs(this.root, this.pin),
      folder.real === this.root ? true : folderStillIs(folder.real, folder.identity),
    ]);
    if (!rootOk) throw new HomeChangedError();
    if (!folderOk) throw new ChangedUnderfootError();
  }

  /**
   * After reading metadata of `real`: it is still a real path (no component
   * turned into a link), it is still the same file (an ABA swap in and back
   * would change the identity seen), and the root holds. Else 403.
   */
  async confirm(real: string, identity: Identity): Promise<void> {
    const [again, stats, rootOk] = await Promise.all([
      fsp.realpath(real).catch(() => undefined),
      fsp.stat(real, { bigint: true }).catch(() => undefined),
      folderStillIs(this.root, this.pin),
    ]);
    if (!rootOk) throw new HomeChangedError();
    if (again !== real || !stats || !sameIdentity(identityOf(stats), identity)) throw new ChangedUnderfootError();
  }

  /**
   * After `open()` of the real path `real`: where the descriptor really is
   * must be inside the root, and the root must hold. Linux tells through
   * `/proc/self/fd`; elsewhere the path is resolved again and must be the
   * same file as the descriptor.
   */
  async assertOpenedInside(fd: number, real: string, opened: Identity | Promise<Identity>): Promise<void> {
    const [where, rootOk] = await Promise.all([this.whereOpened(fd, real, opened), folderStillIs(this.root, this.pin)]);
    if (!rootOk) throw new HomeChangedError();
    if (where === undefined || !isWithin(this.root, where) || isTempUploadName(path.basename(where))) {
      throw new ChangedUnderfootError();
    }
  }

  private async whereOpened(fd: number, real: string, opened: Identity | Promise<Identity>): Promise<string | undefined> {
    const where = await descriptorPath(fd).catch(() => undefined);
    if (where !== undefined) return where;
    const [again, stats, identity] = await Promise.all([
      fsp.realpath(real).catch(() => undefined),
      fsp.stat(real, { bigint: true }).catch(() => undefined),
      opened,
    ]);
    return again !== undefined && stats && sameIdentity(identityOf(stats), identity) ? again : undefined;
  }

  /**
   * Run `read` on the folder `folder` through a path that names the opened
   * folder itself (`/proc/self/fd/N`): each entry `read` looks up is then in
   * that folder, even if its path is swapped meanwhile. Where the system has
   * no such path, `read` gets the real path and the folder is confirmed
   * afterwards instead.
   */
  async readFolder<T>(folder: PinnedFolder, read: (base: string) => Promise<T>): Promise<T> {
    const handle = await fsp.open(folder.real, FOLDER_FLAGS).catch((err: unknown) => {
      // It was a folder when it was resolved a moment ago: a link or a file
      // there now (ENOTDIR from O_DIRECTORY|O_NOFOLLOW, or ELOOP) means it
      // was swapped underfoot, which is a refusal, not "not a folder".
      const code = errnoCode(err);
      if (code === 'ENOTDIR' || code === 'ELOOP') throw new ChangedUnderfootError();
      throw mapFsError(err);
    });
    try {
      const [stats, where] = await Promise.all([handle.stat({ bigint: true }), descriptorPath(handle.fd).catch(() => undefined)]);
      if (!sameIdentity(identityOf(stats), folder.identity)) throw new ChangedUnderfootError();
      if (where === undefined) {
        const result = await read(folder.real);
        await this.confirm(folder.real, folder.identity);
        return result;
      }
      if (where !== folder.real) throw new ChangedUnderfootError();
      return await read(`/proc/self/fd/${handle.fd}`);
    } finally {
      // The root is checked after the read (what was read is only told if
      // the home still holds), alongside the close.
      const [rootOk] = await Promise.all([folderStillIs(this.root, this.pin), handle.close().catch(() => {})]);
      if (!rootOk) throw new HomeChangedError();
    }
  }

  /**
   * A refusal of the path may really be the root having changed (a path that no
   * longer resolves because the home moved): say that instead, clearly.
   */
  async explain(err: unknown): Promise<never> {
    const mapped = mapFsError(err);
    if (mapped instanceof StorageError && !SERVER_SIDE.has(mapped.kind) && !(mapped instanceof HomeChangedError)) {
      if (!(await folderStillIs(this.root, this.pin))) throw new HomeChangedError();
    }
    throw mapped;
  }
}
