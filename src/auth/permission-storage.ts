import type { Permission } from '../core/access';
import { StorageError } from '../storage/errors';
import type { StoragePath } from '../storage/path-rules';
import type {
  DownloadSource,
  ListOptions,
  PendingUpload,
  SmallFile,
  Storage,
  StorageEntry,
  UploadOptions,
  WriteOptions,
} from '../storage/storage';
import { AuthError } from './errors';

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
 * well as the command's own permission (`write` for uploads, `rename` for
 * RENAME). The storage enforces it atomically (`replace: false`): a file
 * that appears between a check and the write is not replaced either.
 */
export class PermissionStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly permissions: ReadonlySet<Permission>,
    /** Who this view is for, in refusals ("anonymous users"). */
    private readonly who: string,
    /** Refuse with "log in first" instead of "permission denied". */
    private readonly loginHint = false,
  ) {}

  get capabilities(): Storage['capabilities'] {
    return this.inner.capabilities;
  }

  private need(permission: Permission): void {
    if (this.permissions.has(permission)) return;
    if (this.loginHint) throw new AuthError('auth_required', 'Authentication required: send AUTH first');
    throw new StorageError('permission_denied', `Permission denied: ${permission} is not allowed for ${this.who}`);
  }

  async list(path: StoragePath, options?: ListOptions): Promise<StorageEntry[]> {
    this.need('read');
    return this.inner.list(path, options);
  }

  async stat(path: StoragePath): Promise<StorageEntry> {
    this.need('read');
    return this.inner.stat(path);
  }

  async readSmall(path: StoragePath, maxBytes: number): Promise<SmallFile | undefined> {
    this.need('read');
    return this.inner.readSmall?.(path, maxBytes);
  }

  async openRead(path: StoragePath): Promise<DownloadSource> {
    this.need('read');
    return this.inner.openRead(path);
  }

  async beginUpload(path: StoragePath, options: UploadOptions): Promise<PendingUpload> {
    this.need('write');
    return this.inner.beginUpload(path, { ...options, replace: this.mayReplace(options.replace) });
  }

  async deleteFile(path: StoragePath): Promise<void> {
    this.need('delete');
    return this.inner.deleteFile(path);
  }

  async makeDirectory(path: StoragePath): Promise<void> {
    this.need('mkdir');
    return this.inner.makeDirectory(path);
  }

  async removeDirectory(path: StoragePath): Promise<void> {
    this.need('delete');
    return this.inner.removeDirectory(path);
  }

  async rename(from: StoragePath, to: StoragePath, options: WriteOptions): Promise<void> {
    this.need('rename');
    return this.inner.rename(from, to, { replace: this.mayReplace(options.replace) });
  }

  async setModificationTime(path: StoragePath, mtime: Date): Promise<void> {
    this.need('write');
    if (!this.inner.setModificationTime) throw new StorageError('not_supported', 'Setting modification times is not supported here');
    return this.inner.setModificationTime(path, mtime);
  }

  /** The same permissions over a folder of this view. */
  async scope(subpath: StoragePath): Promise<Storage> {
    return new PermissionStorage(await this.inner.scope(subpath), this.permissions, this.who, this.loginHint);
  }

  async removeStaleUploads(): Promise<number> {
    return (await this.inner.removeStaleUploads?.()) ?? 0;
  }

  /** Replacing a file is allowed only with `delete`. */
  private mayReplace(asked: boolean): boolean {
    return asked && this.permissions.has('delete');
  }
}
