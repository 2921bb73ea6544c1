/**
 * The {@link Storage} contract on an S3-compatible bucket (AWS S3, MinIO,
 * Ceph RGW, R2...), confined to one key prefix. Folder semantics, key layout
 * and the limits of an object store are in docs/STORAGE-S3.md; in short:
 *
 * - Folder RENAME is refused (`not_supported`): S3 has no folders to move,
 *   only keys to copy one by one, which is neither atomic nor cheap.
 * - Resumed uploads (APPE, REST+STOR) are refused: objects cannot be
 *   appended to. Modification times cannot be set.
 * - Like LocalStorage, a missing parent is `not_found` and a parent that is
 *   a file is `not_folder`; only the direct parent is checked for being a
 *   file (a deeper file on the way answers `not_found`), so one failing
 *   request costs a bounded number of S3 requests whatever its depth.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../errors';
import { type StoragePath } from '../path-rules';
import { type DownloadSource, type ListOptions, type PendingUpload, type SmallFile, type Storage, type StorageCapabilities, type StorageEntry, type UploadOptions } from '../storage';
import { S3Download, SHA256_PATTERN, headObject, readSmallObject, type ObjectInfo } from './download';
import { isPreconditionFailed, rethrowStorage, toStorageError } from './errors';
import { KeySpace, normalizePrefix } from './keys';
import { FOLDER_MTIME, folderExists, keysUnder, listFolder, toSeconds } from './listing';
import { copyObject } from './copy';
import { MAX_OBJECT_SIZE, S3Context, type S3StorageOptions } from './options';
import { removeStaleUploads } from './stale-uploads';
import { S3Upload, partSizeFor } from './upload';

const CAPABILITIES: StorageCapabilities = Object.freeze({
  atomicFolderRename: false,
  resumableUploads: false,
  settableMtime: false,
});

function lastPart(path: StoragePath): string {
  return path[path.length - 1];
}

function parentOf(path: StoragePath): StoragePath {
  return path.slice(0, -1) as readonly string[] as StoragePath;
}

/** {@link Storage} on one prefix of one bucket. */
export class S3Storage implements Storage {
  readonly capabilities = CAPABILITIES;

  private constructor(
    private readonly ctx: S3Context,
    private readonly keys: KeySpace,
    /** Only the storage that built the client destroys it (scopes share it). */
    private readonly ownsClient: boolean,
  ) {}

  /**
   * A storage on `options.bucket` under `options.prefix`. Sends nothing:
   * call {@link S3Storage.check} to fail fast on a wrong bucket or missing
   * credentials.
   * @throws a plain Error (for the operator) for invalid options.
   */
  static create(options: S3StorageOptions): S3Storage {
    const keys = new KeySpace(normalizePrefix(options.prefix ?? ''));
    return new S3Storage(S3Context.from(options), keys, true);
  }

  /** The SDK client (shared by every scope of this storage). */
  get client(): S3Client {
    return this.ctx.client;
  }

  /** The key prefix every key of this storage starts with (`''` or ending in `/`). */
  get prefix(): string {
    return this.keys.prefix;
  }

  /**
   * One listing request, to prove the bucket answers and the credentials may
   * list it. Throws the StorageError (its cause has the SDK's reason).
   */
  async check(): Promise<void> {
    await folderExists(this.ctx, this.keys.prefix);
  }

  async list(path: StoragePath, options: ListOptions = {}): Promise<StorageEntry[]> {
    const listing = await listFolder(this.ctx, this.keys.folderPrefix(path), options.maxReplyBytes);
    if (path.length > 0 && !listing.exists) {
      throw (await this.fileInfo(path)) ? new StorageError('not_folder', 'Not a folder') : new StorageError('not_found', 'Not found');
    }
    return listing.entries;
  }

  async stat(path: StoragePath): Promise<StorageEntry> {
    if (path.length === 0) return { name: '/', type: 'dir', size: 0, mtime: FOLDER_MTIME };
    const info = await this.fileInfo(path);
    if (info) return { name: lastPart(path), type: 'file', size: info.size, mtime: toSeconds(info.lastModified) };
    if (await this.isFolder(path)) return { name: lastPart(path), type: 'dir', size: 0, mtime: FOLDER_MTIME };
    throw new StorageError('not_found', 'Not found');
  }

  readSmall(path: StoragePath, maxBytes: number): Promise<SmallFile | undefined> {
    if (path.length === 0) return Promise.resolve(undefined);
    return readSmallObject(this.ctx, this.keys.objectKey(path), maxBytes);
  }

  async openRead(path: StoragePath): Promise<DownloadSource> {
    if (path.length === 0) throw new StorageError('is_folder', 'Is a folder');
    const info = await this.fileInfo(path);
    if (info) return new S3Download(this.ctx, info);
    throw (await this.isFolder(path)) ? new StorageError('is_folder', 'Is a folder') : new StorageError('not_found', 'Not found');
  }

  async beginUpload(path: StoragePath, options: UploadOptions): Promise<PendingUpload> {
    if (path.length === 0) throw new StorageError('is_folder', 'Is a folder');
    if (options.offset !== undefined && options.offset !== 0) {
      throw new StorageError('not_supported', 'Resuming an upload is not supported by this storage');
    }
    const { size } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw new StorageError('io', 'Invalid size');
    if (size !== undefined && size > MAX_OBJECT_SIZE) throw new StorageError('too_large', 'Too large for the storage');
    const sha256 = options.sha256?.toLowerCase();
    if (sha256 !== undefined && !SHA256_PATTERN.test(sha256)) throw new StorageError('io', 'Invalid sha256');
    const key = this.keys.objectKey(path);
    const [, isFolder, existing] = await Promise.all([
      this.assertParentFolder(path),
      this.isFolder(path),
      options.replace ? undefined : this.fileInfo(path),
    ]);
    if (isFolder) throw new StorageError('is_folder', 'Is a folder');
    // Early and friendly; the conditional write at commit is what makes it hold.
    if (existing) throw new StorageError('permission_denied', 'A file with this name exists and may not be replaced');
    return new S3Upload(this.ctx, {
      key,
      replace: options.replace,
      size,
      sha256,
      partSize: partSizeFor(this.ctx.settings.partSize, size),
    });
  }

  async deleteFile(path: StoragePath): Promise<void> {
    if (path.length === 0) throw new StorageError('is_folder', 'Is a folder');
    const info = await this.fileInfo(path);
    if (!info) {
      throw (await this.isFolder(path)) ? new StorageError('is_folder', 'Is a folder') : new StorageError('not_found', 'Not found');
    }
    await this.deleteKey(info.key);
  }

  async makeDirectory(path: StoragePath): Promise<void> {
    if (path.length === 0) throw new StorageError('exists', 'Already exists');
    const marker = this.keys.folderPrefix(path);
    const [, file, folder] = await Promise.all([this.assertParentFolder(path), this.fileInfo(path), this.isFolder(path)]);
    if (file || folder) throw new StorageError('exists', 'Already exists');
    try {
      await this.ctx.client.send(new PutObjectCommand({
        Bucket: this.ctx.bucket,
        Key: marker,
        Body: Buffer.alloc(0),
        ContentLength: 0,
        IfNoneMatch: '*',
      }));
    } catch (err) {
      throw isPreconditionFailed(err) ? new StorageError('exists', 'Already exists', { cause: err }) : toStorageError(err);
    }
  }

  /**
   * Remove an empty folder: its marker is deleted. Anything else under it —
   * including keys no client can name, written by other tools — makes it
   * not empty: this never deletes what a client cannot see.
   */
  async removeDirectory(path: StoragePath): Promise<void> {
    if (path.length === 0) throw new StorageError('forbidden', 'Cannot remove the root');
    const marker = this.keys.folderPrefix(path);
    const keys = await keysUnder(this.ctx, marker, 2);
    if (keys.length === 0) {
      throw (await this.fileInfo(path)) ? new StorageError('not_folder', 'Not a folder') : new StorageError('not_found', 'Not found');
    }
    if (keys.some((key) => key !== marker)) throw new StorageError('not_empty', 'Folder not empty');
    await this.deleteKey(marker);
  }

  /**
   * Rename a file: a server-side copy (pinned to the source's version), then
   * a delete of that version. Not atomic: for a moment both names exist, and
   * if the delete fails both stay (nothing is lost). Folders: not_supported.
   */
  async rename(from: StoragePath, to: StoragePath, options: { replace: boolean }): Promise<void> {
    if (from.length === 0) throw new StorageError('forbidden', 'Cannot rename the root');
    if (to.length === 0) throw new StorageError('exists', 'Already exists');
    const source = await this.fileInfo(from);
    if (!source) {
      if (await this.isFolder(from)) throw new StorageError('not_supported', 'Renaming a folder is not supported by this storage');
      throw new StorageError('not_found', 'Not found');
    }
    const destKey = this.keys.objectKey(to);
    if (destKey === source.key) return;
    const [, destIsFolder, dest] = await Promise.all([this.assertParentFolder(to), this.isFolder(to), this.fileInfo(to)]);
    if (destIsFolder) throw new StorageError('exists', 'Already exists');
    if (dest && !options.replace) throw new StorageError('permission_denied', 'A file with this name exists and may not be replaced');
    try {
      await copyObject(this.ctx, {
        sourceKey: source.key,
        sourceEtag: source.etag,
        size: source.size,
        destKey,
        metadata: source.metadata,
        contentType: source.contentType,
        ifNoneMatch: options.replace ? undefined : '*',
      });
    } catch (err) {
      if (!isPreconditionFailed(err)) throw toStorageError(err);
      // Either the destination appeared (replace: false) or the source changed.
      if (!options.replace && (await this.fileInfo(to))) {
        throw new StorageError('permission_denied', 'A file with this name exists and may not be replaced', { cause: err });
      }
      throw new StorageError('io', 'The file changed during the rename', { cause: err });
    }
    await this.deleteVersion(source);
  }

  /**
   * The storage rooted at the folder `subpath`, which must exist (homes are
   * made with makeDirectory first, as with LocalStorage). Its keys all start
   * with the folder's prefix; it shares this storage's client.
   */
  async scope(subpath: StoragePath): Promise<Storage> {
    if (subpath.length > 0 && !(await this.isFolder(subpath))) {
      throw (await this.fileInfo(subpath)) ? new StorageError('not_folder', 'Not a folder') : new StorageError('not_found', 'Not found');
    }
    return new S3Storage(this.ctx, this.keys.child(subpath), false);
  }

  /** Abort stale multipart uploads under this storage's prefix (see stale-uploads.ts). */
  removeStaleUploads(): Promise<number> {
    return removeStaleUploads(this.ctx, this.keys.prefix);
  }

  /** Release the SDK client's sockets (the root storage only; scopes share it). */
  close(): Promise<void> {
    if (this.ownsClient) this.ctx.client.destroy();
    return Promise.resolve();
  }

  /** HeadObject of the file at `path`, or undefined when there is none. */
  private fileInfo(path: StoragePath): Promise<ObjectInfo | undefined> {
    return headObject(this.ctx, this.keys.objectKey(path));
  }

  /** True when `path` is a folder: the root, or any key (its marker, or content) under `path/`. */
  private isFolder(path: StoragePath): Promise<boolean> {
    if (path.length === 0) return Promise.resolve(true);
    return folderExists(this.ctx, this.keys.folderPrefix(path));
  }

  /** Creation semantics: the parent must be a folder (not_found), not a file (not_folder). */
  private async assertParentFolder(path: StoragePath): Promise<void> {
    const parent = parentOf(path);
    if (parent.length === 0 || (await this.isFolder(parent))) return;
    if (await this.fileInfo(parent)) throw new StorageError('not_folder', 'Parent is a file');
    throw new StorageError('not_found', 'Parent folder not found');
  }

  /**
   * Delete the version of a file that was just copied: `If-Match`, so a file
   * someone wrote under the old name meanwhile survives. Endpoints that do
   * not implement conditional deletes get a plain delete.
   */
  private async deleteVersion(source: ObjectInfo): Promise<void> {
    try {
      await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.ctx.bucket, Key: source.key, IfMatch: `"${source.etag}"` }));
    } catch (err) {
      if (isPreconditionFailed(err)) return;
      const shape = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (shape.name !== 'NotImplemented' && shape.$metadata?.httpStatusCode !== 501) throw toStorageError(err);
      await this.deleteKey(source.key);
    }
  }

  private async deleteKey(key: string): Promise<void> {
    await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.ctx.bucket, Key: key })).catch(rethrowStorage);
  }
}
