/**
 * Starting an upload once its target is known: free space (minus what other
 * uploads in flight on the same disk still need), the reservation of this
 * upload's bytes, and the temporary file.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { StorageError } from './errors';
import { MESSAGES, rethrowMapped } from './fs-errors';
import type { InFlightUpload, StorageRegistry } from './registry';
import type { PinnedFolder, RootGuard } from './root-guard';
import { TempUpload, tempPathFor } from './temp-files';

/** What {@link startUpload} needs from the storage. */
export interface UploadPlan {
  /** Real path the finished file will have. */
  target: string;
  /** The real folder holding `target`, as resolved. */
  folder: PinnedFolder;
  /** Bytes announced, when the sender says; space is checked and reserved for them. */
  size: number | undefined;
  replace: boolean;
  fsync: boolean;
  registry: StorageRegistry;
  guard: RootGuard;
}

/**
 * Check space, reserve it, and create the temporary file beside the target.
 * The space check and the reservation happen in one synchronous step after
 * `statfs` returns, so two uploads starting together cannot both count the
 * same free bytes.
 * @throws InsufficientStorageError (507) before anything is created.
 */
export async function startUpload(plan: UploadPlan): Promise<TempUpload> {
  const { target, folder, size, registry, guard } = plan;
  const space = await fsp.statfs(path.dirname(target), { bigint: true }).catch(rethrowMapped);
  const device = folder.identity.dev;
  const free = space.bavail * space.bsize - BigInt(registry.reservedBytes(device));
  if (free < BigInt(size ?? 0)) throw new StorageError('no_space', MESSAGES.noSpace);
  const tempPath = tempPathFor(target);
  let upload: TempUpload | undefined;
  const entry: InFlightUpload = {
    tempPath,
    device,
    outstandingBytes: () => Math.max(0, (size ?? 0) - (upload?.stream.bytesWritten ?? 0)),
  };
  registry.add(entry);
  try {
    await guard.recheck(folder);
    // 'wx': never reuse or follow an existing name; 0o644 is filtered by umask.
    const handle = await fsp.open(tempPath, 'wx', 0o644).catch(rethrowMapped);
    upload = new TempUpload({
      handle,
      tempPath,
      targetPath: target,
      expectedSize: size,
      fsync: plan.fsync,
      replace: plan.replace,
      tracker: { add: () => registry.add(entry), delete: () => registry.delete(tempPath) },
      beforePublish: () => guard.recheck(folder),
    });
    return upload;
  } catch (err) {
    registry.delete(tempPath);
    throw err;
  }
}
