/**
 * Atomic uploads: bytes go to a hidden temporary file beside the target, and
 * only a complete file is renamed over it. `rename(2)` within one folder is
 * atomic, so readers see the old file or the new one, never a mix, and two
 * uploads of one name race to a whole winner.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StorageError } from './errors';
import type { PendingUpload } from './storage';
import { MESSAGES, errnoCode, mapFsError } from './fs-errors';
import { TEMP_UPLOAD_PREFIX, TEMP_UPLOAD_SUFFIX } from './path-rules';
import { versionKeyOf } from './version-key';

/** Buffer this much before the writer pushes back (socket → disk). */
export const UPLOAD_HIGH_WATER_MARK = 1024 * 1024;

/** A fresh temporary upload name: 64 random bits make collisions negligible. */
export function newTempUploadName(): string {
  return `${TEMP_UPLOAD_PREFIX}${randomBytes(8).toString('hex')}${TEMP_UPLOAD_SUFFIX}`;
}

/**
 * Writes to an open file handle, from `startAt` on. Unlike
 * `fs.createWriteStream`, its errors are already storage errors (a full disk
 * fails with `no_space`, not a bare errno that would become a server error),
 * and it never closes the handle itself: the upload owns the handle and
 * closes it exactly once.
 */
export class HandleWriter extends Writable {
  /** Bytes that reached the file so far. */
  bytesWritten = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fsync: boolean,
    /** Where the first byte goes (a resumed upload starts past the bytes it keeps). */
    private readonly startAt = 0,
  ) {
    super({ highWaterMark: UPLOAD_HIGH_WATER_MARK, decodeStrings: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), (err) => callback(mapFsError(err) as Error));
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (err?: Error | null) => void,
  ): void {
    const buffers = chunks.map((entry) => entry.chunk);
    this.writeAll(buffers).then(() => callback(), (err) => callback(mapFsError(err) as Error));
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.fsync) return callback();
    this.handle.sync().then(() => callback(), (err) => callback(mapFsError(err) as Error));
  }

  /** `writev` may write less than asked (signals, quotas); loop until done. */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    let pending = buffers.filter((buffer) => buffer.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, this.startAt + this.bytesWritten);
      this.bytesWritten += bytesWritten;
      pending = dropBytes(pending, bytesWritten);
    }
  }
}

/** The buffers left after the first `count` bytes of `buffers` are written. */
function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
    } else {
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
  }
  return rest;
}

/** How a {@link TempUpload} tells its storage it is no longer in flight. */
export interface UploadTracker {
  add(tempPath: string): void;
  delete(tempPath: string): void;
}

/** The pieces of one upload, created by the storage after all its checks. */
export interface TempUploadOptions {
  handle: FileHandle;
  tempPath: string;
  /** Real path the finished file is renamed to, in the same folder. */
  targetPath: string;
  /** Bytes announced up front; unknown for uploads that run until the sender stops. */
  expectedSize?: number;
  fsync: boolean;
  tracker: UploadTracker;
  /**
   * Replace a file already at the target (the default). When false the
   * commit publishes only a new name, atomically: `link(2)` fails with
   * EEXIST if anything holds the target, and the upload is refused with 403.
   */
  replace?: boolean;
  /**
   * Runs right before the file is published (the storage re-checks that the
   * folder is still the one it resolved); a throw aborts the upload.
   */
  beforePublish?: () => Promise<void>;
}

/** A {@link PendingUpload} over one temporary file. */
export class TempUpload implements PendingUpload {
  readonly stream: HandleWriter;
  private handleClosed?: Promise<void>;
  private committing?: Promise<{ versionKey: string }>;
  private aborting?: Promise<void>;

  constructor(private readonly options: TempUploadOptions) {
    this.stream = new HandleWriter(options.handle, options.fsync);
    // The stream's errors surface through the pipeline and through commit();
    // this listener only keeps an unobserved one from crashing the process.
    this.stream.on('error', () => {});
    options.tracker.add(options.tempPath);
  }

  /**
   * Finish the stream (ending it if the caller has not), check that exactly
   * the announced number of bytes arrived (announced up front, or by the
   * caller now), and rename over the target. Any
   * failure removes the temporary file and leaves the target untouched. A
   * short file is refused with a plain error (a 500): publishing it would
   * show readers a torn upload, and getting here with one is a server bug.
   */
  commit(info: { bytes?: number } = {}): Promise<{ versionKey: string }> {
    if (this.aborting) return Promise.reject(new Error('Upload already aborted'));
    this.committing ??= this.runCommit(this.options.expectedSize ?? info.bytes);
    return this.committing;
  }

  private async runCommit(expectedSize: number | undefined): Promise<{ versionKey: string }> {
    const { tempPath, targetPath, handle } = this.options;
    let versionKey: string;
    try {
      if (this.stream.errored) throw this.stream.errored;
      if (!this.stream.writableEnded) this.stream.end();
      await finished(this.stream);
      if (expectedSize !== undefined && this.stream.bytesWritten !== expectedSize) {
        throw new Error(`Upload size mismatch: ${this.stream.bytesWritten} of ${expectedSize} bytes`);
      }
      await this.options.beforePublish?.();
      await moveIntoPlace(tempPath, targetPath, this.options.replace ?? true);
      // fstat after the rename (which moves ctime) and through our own
      // descriptor: a concurrent upload renamed over the name cannot lend
      // us its identity.
      versionKey = versionKeyOf(await handle.stat({ bigint: true }));
      await this.closeHandle(true);
    } catch (err) {
      await this.cleanUp();
      throw mapFsError(err);
    }
    this.options.tracker.delete(tempPath);
    return { versionKey };
  }

  /** Stop writing and remove the temporary file; idempotent, never throws for a gone file. */
  abort(): Promise<void> {
    if (this.committing) {
      // After a commit the target is the new file and must stay; a failed
      // commit has already cleaned up. Either way: nothing to undo.
      return this.committing.then(
        () => undefined,
        () => undefined,
      );
    }
    this.aborting ??= this.cleanUp();
    return this.aborting;
  }

  private async cleanUp(): Promise<void> {
    if (!this.stream.destroyed) this.stream.destroy();
    await this.closeHandle(false);
    try {
      await fsp.unlink(this.options.tempPath);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw mapFsError(err);
    } finally {
      this.options.tracker.delete(this.options.tempPath);
    }
  }

  /**
   * Close the handle once. `FileHandle.close` waits for writes in flight, so
   * a destroyed stream cannot write after the file is unlinked.
   */
  private closeHandle(strict: boolean): Promise<void> {
    if (!this.handleClosed) {
      const closing = this.options.handle.close();
      this.handleClosed = closing.catch(() => {});
      if (strict) return closing;
    }
    return this.handleClosed;
  }
}

/** Errors of `link(2)` that mean "this file system has no hard links". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Give the file (or symlink) at `tempPath` the name `targetPath`, in the same
 * file system. Replacing is one `rename(2)`. Not replacing must be just as
 * atomic (a check then a rename would let a file created in between be
 * destroyed): `link(2)` makes the new name only if it is free (EEXIST: 403),
 * then the old name is dropped. `link(2)` does not follow a symlink on
 * Linux, so a link is moved as itself. Not for folders.
 */
export async function moveIntoPlace(tempPath: string, targetPath: string, replace: boolean): Promise<void> {
  if (replace) return fsp.rename(tempPath, targetPath);
  try {
    await fsp.link(tempPath, targetPath);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') throw new StorageError('permission_denied', MESSAGES.replaceNeedsDelete);
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw err;
    // A file system without hard links (vfat, some FUSE mounts): the best
    // left is check-then-rename, whose window is one syscall wide.
    const taken = await fsp.lstat(targetPath).then(() => true, (statErr: unknown) => {
      if (errnoCode(statErr) === 'ENOENT') return false;
      throw statErr;
    });
    if (taken) throw new StorageError('permission_denied', MESSAGES.replaceNeedsDelete);
    return fsp.rename(tempPath, targetPath);
  }
  // The file is published under its name; an old name left by a failed
  // unlink is only a second name for it (a temp one is swept at the next start).
  await fsp.unlink(tempPath).catch(() => {});
}

/** The folder a temporary file for `targetPath` goes in: the target's own. */
export function tempPathFor(targetPath: string): string {
  return path.join(path.dirname(targetPath), newTempUploadName());
}
