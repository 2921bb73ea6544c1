import { AuthRequiredError, ForbiddenError } from '../protocol/errors';
import type { FileEntry } from '../protocol/messages';
import type { Permission } from '../core/access';
import type { ListOptions, OpenedFile, PendingUpload, SmallFile, Storage, WriteOptions } from '../storage/storage';

/**
 * A {@link Storage} that allows only the operations a permission set covers.
 *
 * The session already checks each command's declared permission for a
 * logged-in user; this wrapper is what enforces them where no login exists
 * (anonymous access, read-only by default) and a second, independent check
 * everywhere else: a future command that forgets to declare its permission
 * still cannot write through a read-only view.
 *
 * Replacing an existing file destroys its content, so it needs `delete` as
 * well as the command's own permission (`write` for PUT, `rename` for
 * RENAME). The storage enforces it atomically (`replace: false`): a file
 * that appears between a check and the write is not replaced either.
 */
export class PermissionStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly permissions: ReadonlySet<Permission>,
    /** Who this view is for, in refusals ("anonymous users"). */
    private readonly who: string,
    /** Refuse with 401 (log in first) instead of 403. */
    private readonly loginHint = false,
  ) {}

  private need(permission: Permission): void {
    if (this.permissions.has(permission)) return;
    if (this.loginHint) throw new AuthRequiredError('Authentication required: send AUTH first');
    throw new ForbiddenError(`Permission denied: ${permission} is not allowed for ${this.who}`);
  }

  async list(path: string | undefined, options?: ListOptions): Promise<FileEntry[]> {
    this.need('read');
    return this.inner.list(path, options);
  }

  async stat(path: string): Promise<FileEntry> {
    this.need('read');
    return this.inner.stat(path);
  }

  async readSmall(path: string, maxBytes: number): Promise<SmallFile | undefined> {
    this.need('read');
    return this.inner.readSmall?.(path, maxBytes);
  }

  async openRead(path: string): Promise<OpenedFile> {
    this.need('read');
    return this.inner.openRead(path);
  }

  async beginUpload(path: string, size: number, options?: WriteOptions): Promise<PendingUpload> {
    this.need('write');
    return this.inner.beginUpload(path, size, this.writeOptions(options));
  }

  async deleteFile(path: string): Promise<void> {
    this.need('delete');
    return this.inner.deleteFile(path);
  }

  async makeDirectory(path: string): Promise<void> {
    this.need('mkdir');
    return this.inner.makeDirectory(path);
  }

  async removeDirectory(path: string): Promise<void> {
    this.need('delete');
    return this.inner.removeDirectory(path);
  }

  async rename(from: string, to: string, options?: WriteOptions): Promise<void> {
    this.need('rename');
    return this.inner.rename(from, to, this.writeOptions(options));
  }

  /** Replacing a file is allowed only with `delete`. */
  private writeOptions(options: WriteOptions | undefined): WriteOptions {
    return { ...options, replace: (options?.replace ?? true) && this.permissions.has('delete') };
  }

  removeStaleUploads(): Promise<number> {
    return this.inner.removeStaleUploads();
  }
}
