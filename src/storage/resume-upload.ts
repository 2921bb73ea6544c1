/**
 * Resumed uploads (FTP APPE, REST+STOR): the bytes go straight into the
 * existing file, from the resume offset on, instead of into a temporary
 * file. That is what resuming means to every FTP client: the bytes already
 * there are a prefix of the file being sent, and only the rest travels.
 *
 * The price, documented for users: unlike a plain upload this is not atomic.
 * While one runs, readers see the kept prefix and then the file growing; a
 * resumed upload that is cut keeps what arrived (so the next resume starts
 * from there), and the bytes past the offset are gone from the moment it
 * starts. Plain uploads (no offset) keep their all-or-nothing promise.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { StorageError } from './errors';
import { MESSAGES, rethrowMapped } from './fs-errors';
import { identityOf } from './identity';
import type { RootGuard } from './root-guard';
import type { PendingUpload } from './storage';
import { HandleWriter } from './temp-files';
import { versionKeyOf } from './version-key';

// Read-write, never created (the file must exist), never through a link
// swapped in after the path was resolved.
const RESUME_FLAGS = fsConstants.O_RDWR | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

/** What {@link startResumedUpload} needs from the storage. */
export interface ResumePlan {
  /** Real path of the existing regular file, inside the root. */
  target: string;
  offset: number;
  /** Whether the bytes after `offset` may be dropped (they are "replaced"). */
  replace: boolean;
  fsync: boolean;
  guard: RootGuard;
}

/**
 * Open the file, prove it is the one inside the root, check the offset
 * against its size, cut it at the offset, and return an upload writing from
 * there. A shorter file than the offset, or a cut without `replace`, is
 * refused before a byte is written.
 */
export async function startResumedUpload(plan: ResumePlan): Promise<PendingUpload> {
  const handle = await fsp.open(plan.target, RESUME_FLAGS).catch(rethrowMapped);
  try {
    const statting = handle.stat({ bigint: true });
    const [stats] = await Promise.all([statting, plan.guard.assertOpenedInside(handle.fd, plan.target, statting.then(identityOf))]);
    if (!stats.isFile()) throw new StorageError('forbidden', MESSAGES.notRegular);
    const size = Number(stats.size);
    if (plan.offset > size) throw new StorageError('not_supported', MESSAGES.resumePastEnd);
    if (plan.offset < size) {
      // Dropping the tail destroys bytes, as replacing the file would.
      if (!plan.replace) throw new StorageError('permission_denied', MESSAGES.replaceNeedsDelete);
      await handle.truncate(plan.offset);
    }
    return new ResumedUpload(handle, plan.offset, plan.fsync);
  } catch (err) {
    await handle.close().catch(() => {});
    return rethrowMapped(err);
  }
}

/** A {@link PendingUpload} writing in place; see the module comment for what readers see. */
class ResumedUpload implements PendingUpload {
  readonly stream: HandleWriter;
  private closed?: Promise<void>;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
    fsync: boolean,
  ) {
    this.stream = new HandleWriter(handle, fsync, offset);
    this.stream.on('error', () => {});
  }

  async commit(): Promise<{ versionKey: string }> {
    try {
      if (this.stream.errored) throw this.stream.errored;
      if (!this.stream.writableEnded) this.stream.end();
      await finished(this.stream);
      const versionKey = versionKeyOf(await this.handle.stat({ bigint: true }));
      await this.close();
      return { versionKey };
    } catch (err) {
      await this.close();
      return rethrowMapped(err);
    }
  }

  /** Stop writing; what arrived stays in the file, for the next resume. */
  async abort(): Promise<void> {
    if (!this.stream.destroyed) this.stream.destroy();
    await this.close();
  }

  private close(): Promise<void> {
    // FileHandle.close waits for writes in flight.
    this.closed ??= this.handle.close().catch(() => {});
    return this.closed;
  }
}
