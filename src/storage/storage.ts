/**
 * The storage contract every backend implements (the local disk, S3) and
 * every front end uses (the native port, FTP). It is written in what a
 * caller needs — entries, a version of a file to read from, an upload to
 * publish or throw away — not in what one backend happens to have.
 *
 * Paths come in already parsed ({@link StoragePath}); failures go out as
 * {@link StorageError}s. Wire codes belong to the front ends.
 */
import type { Readable, Writable } from 'node:stream';
import type { StoragePath } from './path-rules';

export type { StoragePath } from './path-rules';

/** One file or folder, as a listing or a stat shows it. */
export interface StorageEntry {
  /** The last part of its path (`/` for the root itself in a stat). */
  name: string;
  type: 'file' | 'dir';
  /** Bytes; 0 for folders. */
  size: number;
  /** Last modification, to the millisecond. */
  mtime: Date;
}

/** What a backend can do beyond the common ground; a front end refuses the rest clearly. */
export interface StorageCapabilities {
  /** RENAME of a folder is one atomic step. When false, renaming a folder throws `not_supported`. */
  readonly atomicFolderRename: boolean;
  /** {@link UploadOptions.offset} above 0 (FTP APPE, REST+STOR) works. When false: `not_supported`. */
  readonly resumableUploads: boolean;
  /** {@link Storage.setModificationTime} (FTP MFMT) works. */
  readonly settableMtime: boolean;
}

/**
 * One version of a file, opened for download: every byte of one reply comes
 * from it, so an upload replacing the file meanwhile never mixes in.
 */
export interface DownloadSource {
  /** Size when it was opened. */
  readonly size: number;
  /**
   * Identity of this version: equal for two opens of the same unchanged
   * file, different once it was replaced or written. Keys the digest cache.
   */
  readonly versionKey: string;
  /** The SHA-256 the backend keeps with this version (object metadata), if any. */
  readonly storedSha256?: string;
  /** Bytes `[start, end)` as a stream with backpressure. */
  createReadStream(start: number, end: number): Readable;
  /**
   * Random access into the caller's buffer (positional read); absent where
   * every read is a request (object stores). Returns the bytes read, 0 at
   * the end of the file.
   */
  read?(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** The open descriptor, where there is one: the hash worker reads through it. */
  readonly fd?: number;
  /** Release it; safe to call more than once. */
  close(): Promise<void>;
}

/** A whole small file read in one go, from {@link Storage.readSmall}: one version of it. */
export interface SmallFile {
  data: Buffer;
  size: number;
  versionKey: string;
}

/** How to upload. */
export interface UploadOptions {
  /**
   * Bytes announced up front (the native PUT); `undefined` when the sender
   * does not say (FTP STOR, until the data connection closes).
   */
  size?: number;
  /** The client's SHA-256, when it is known before the bytes. */
  sha256?: string;
  /**
   * May an existing file at the path be replaced? Checked when the upload
   * starts and again, atomically, when it is published: with `false`, a
   * file already there or appearing meanwhile is kept (`permission_denied`).
   */
  replace: boolean;
  /**
   * Resume: keep bytes `[0, offset)` of the existing file and write from
   * there (FTP APPE, REST+STOR). Only where {@link StorageCapabilities.resumableUploads}.
   */
  offset?: number;
}

/** An upload in progress: invisible to readers until {@link PendingUpload.commit}. */
export interface PendingUpload {
  /** Where the payload bytes go, with backpressure (`write()` false: wait for `'drain'`). */
  readonly stream: Writable;
  /**
   * Publish it, once every byte is in (the stream is ended here if the
   * caller has not). `sha256` is the digest of the whole file as the
   * transfer layer computed it, for backends that keep it; `bytes` is what
   * this upload wrote. Resolves with the new version's key. Any failure
   * leaves the old file (or none) and removes what was written.
   */
  commit(info?: { sha256?: string; bytes?: number }): Promise<{ versionKey: string }>;
  /** Throw it away; the target is untouched. Idempotent. */
  abort(): Promise<void>;
}

/** Options of {@link Storage.list}. */
export interface ListOptions {
  /**
   * Stop with `too_large` once the entries, as the native port's JSON, pass
   * this many bytes: a folder too big for one reply costs a bounded amount
   * of work, not a whole listing built to be thrown away.
   */
  maxReplyBytes?: number;
}

/** Options of a command that may put something where a file already is. */
export interface WriteOptions {
  /** As {@link UploadOptions.replace}. */
  replace: boolean;
}

/**
 * Every file decision of the server goes through this interface. Paths are
 * confined to the storage's root, whatever a client sent; failures are
 * {@link StorageError}s with client-safe messages.
 */
export interface Storage {
  readonly capabilities: StorageCapabilities;
  /** A folder's entries, sorted by code point (`not_found`, `not_folder`). */
  list(path: StoragePath, options?: ListOptions): Promise<StorageEntry[]>;
  /** One file or folder. */
  stat(path: StoragePath): Promise<StorageEntry>;
  /**
   * Fast path for small downloads: the whole file when it is a regular file
   * of at most `maxBytes`, else `undefined` and the caller takes
   * {@link openRead} (which has the proper error for every other case).
   */
  readSmall?(path: StoragePath, maxBytes: number): Promise<SmallFile | undefined>;
  /** Open one version of a file for reading (`is_folder` for a folder). */
  openRead(path: StoragePath): Promise<DownloadSource>;
  /**
   * Check everything an upload can fail on before the client sends a byte
   * (parent `not_found`/`not_folder`, target `is_folder`, `no_space`,
   * `permission_denied` without replace), then prepare it.
   */
  beginUpload(path: StoragePath, options: UploadOptions): Promise<PendingUpload>;
  deleteFile(path: StoragePath): Promise<void>;
  makeDirectory(path: StoragePath): Promise<void>;
  removeDirectory(path: StoragePath): Promise<void>;
  /** Rename or move; folders only where {@link StorageCapabilities.atomicFolderRename}. */
  rename(from: StoragePath, to: StoragePath, options: WriteOptions): Promise<void>;
  /** Set a file's modification time (FTP MFMT); only where {@link StorageCapabilities.settableMtime}. */
  setModificationTime?(path: StoragePath, mtime: Date): Promise<void>;
  /**
   * The storage rooted at the existing folder `subpath` of this one (a home
   * folder): every path it takes is confined to that folder by the same
   * rules as the root. Creates nothing.
   */
  scope(subpath: StoragePath): Promise<Storage>;
  /** Remove uploads a killed process left behind; returns how many. */
  removeStaleUploads?(): Promise<number>;
  /** Release what the backend holds (clients, handles). */
  close?(): Promise<void>;
}
