/**
 * Looking names up in one confined folder of the local disk, with the two
 * semantics the operations need. A file in the middle of a path ("parent is
 * a file") is answered by what the operation does: creating a name there
 * (upload, mkdir, the rename destination) is `not_folder`, because the name
 * cannot be made; looking a name up (list, stat, read, delete, rmdir, the
 * rename source) is `not_found`, because nothing by that name exists.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import { StorageError } from './errors';
import { MESSAGES, rethrowMapped } from './fs-errors';
import { identityOf } from './identity';
import type { StoragePath } from './path-rules';
import type { NameInfo, PathResolver } from './resolver';
import type { PinnedFolder, RootGuard } from './root-guard';

/** An existing entry and the folder it is in, as resolved. */
export type Located = Exclude<NameInfo, { kind: 'none' }> & { parent: PinnedFolder };

/** The last part of a non-empty path. */
export function lastPart(parts: StoragePath): string {
  return parts[parts.length - 1];
}

/** Name lookups under one root, each confined by `resolver` and re-checked by `guard`. */
export class LocalTree {
  constructor(
    /** The root, a real path. */
    readonly root: string,
    readonly resolver: PathResolver,
    readonly guard: RootGuard,
  ) {}

  /** Lookup semantics: anything missing along the way is `not_found`. */
  async existing(parts: readonly string[]): Promise<{ real: string; stats: BigIntStats }> {
    const resolved = await this.resolver.resolve(parts);
    if (resolved.kind !== 'found') throw new StorageError('not_found', MESSAGES.notFound);
    const stats = await fsp.stat(resolved.real, { bigint: true }).catch(rethrowMapped);
    return { real: resolved.real, stats };
  }

  /** The last part's own entry (a link is not followed past the check) and its folder, or `not_found`. */
  async inspectExisting(parts: StoragePath): Promise<Located> {
    const { real, stats } = await this.existing(parts.slice(0, -1));
    if (!stats.isDirectory()) throw new StorageError('not_found', MESSAGES.notFound);
    const info = await this.resolver.inspect(real, lastPart(parts));
    if (info.kind === 'none') throw new StorageError('not_found', MESSAGES.notFound);
    return { ...info, parent: { real, identity: identityOf(stats) } };
  }

  /** Creation semantics: the parent must exist (`not_found`) and be a folder (`not_folder`). */
  async parentForCreate(parts: StoragePath): Promise<PinnedFolder> {
    const resolved = await this.resolver.resolve(parts.slice(0, -1));
    if (resolved.kind === 'missing') throw new StorageError('not_found', MESSAGES.parentNotFound);
    if (resolved.kind === 'blocked') throw new StorageError('not_folder', MESSAGES.parentIsFile);
    const stats = await fsp.stat(resolved.real, { bigint: true }).catch(rethrowMapped);
    if (!stats.isDirectory()) throw new StorageError('not_folder', MESSAGES.parentIsFile);
    return { real: resolved.real, identity: identityOf(stats) };
  }

  /** The identity of a real folder already known to be inside the root. */
  async pinFolder(real: string): Promise<PinnedFolder> {
    const stats = await fsp.lstat(real, { bigint: true }).catch(rethrowMapped);
    if (!stats.isDirectory()) throw new StorageError('not_folder', MESSAGES.parentIsFile);
    return { real, identity: identityOf(stats) };
  }
}
