import type { Writable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import type { FileEntry } from '../protocol/messages';

/**
 * A file opened for download. The command streams from this one open handle,
 * so a concurrent upload of the same name (which renames a new file into
 * place) never mixes two versions into one download.
 */
export interface OpenedFile {
  handle: FileHandle;
  /** Size at the moment the file was opened (`fstat`). */
  size: number;
  /**
   * Identity of this version of the file (device, inode, size, mtime, ctime),
   * for caching its digest: any write to the file moves its ctime.
   */
  versionKey: string;
  /** Close the handle; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * A whole small file already in memory (read through one descriptor, so it
 * is one version of the file), from {@link Storage.readSmall}.
 */
export interface SmallFile {
  data: Buffer;
  size: number;
  versionKey: string;
}

/**
 * An upload in progress: bytes go to a hidden temporary file beside the
 * target, which replaces the target only on {@link PendingUpload.commit}.
 */
export interface PendingUpload {
  /** Where the payload bytes go; honours backpressure. */
  stream: Writable;
  /**
   * Rename the temporary file over the target (atomic on one file system).
   * Resolves with the new file's version key, as `openRead` would report it.
   */
  commit(): Promise<{ versionKey: string }>;
  /** Remove the temporary file; the target is untouched. Safe to call twice. */
  abort(): Promise<void>;
}

/** Options of a command that may put something where a file already is. */
export interface WriteOptions {
  /**
   * Replace a file (or symlink) already holding the target name; default
   * true. When false, an existing target is refused with 403 and kept, and
   * the check is atomic with the write (no window for a file to appear).
   */
  replace?: boolean;
}

/** Options of {@link Storage.list}. */
export interface ListOptions {
  /**
   * Stop with 413 once the entries' JSON passes this many bytes, instead of
   * reading the rest of a folder whose listing cannot be sent anyway.
   */
  maxBytes?: number;
}

/**
 * Every file-system decision of the server goes through this interface. The
 * raw strings clients send come in here and nowhere else: implementations
 * check them against the contract's path rules (§3) and confine them to the
 * served root, throwing `ProtocolError`s (400/403/404/409/507) otherwise.
 */
export interface Storage {
  /** List a folder (`undefined` or `/` is the root), sorted by code point. */
  list(path: string | undefined, options?: ListOptions): Promise<FileEntry[]>;
  /** Describe one file or folder. */
  stat(path: string): Promise<FileEntry>;
  /**
   * Fast path for small downloads: the whole file if it is a regular file of
   * at most `maxBytes` inside the root, else `undefined`, and the caller
   * takes {@link openRead} (which has the proper error for every other case).
   */
  readSmall?(path: string, maxBytes: number): Promise<SmallFile | undefined>;
  /** Open a regular file for reading (409 for a folder). */
  openRead(path: string): Promise<OpenedFile>;
  /**
   * Prepare an upload of `size` bytes: checks the name, the parent folder,
   * that the target is not a folder, and free space (minus what uploads in
   * flight still need), then creates the temporary file.
   */
  beginUpload(path: string, size: number, options?: WriteOptions): Promise<PendingUpload>;
  deleteFile(path: string): Promise<void>;
  makeDirectory(path: string): Promise<void>;
  removeDirectory(path: string): Promise<void>;
  /**
   * Rename or move within the storage. Refused (403) when a symlink it moves,
   * or one inside a folder it moves, would then lead outside the storage.
   */
  rename(from: string, to: string, options?: WriteOptions): Promise<void>;
  /** Remove temporary upload files left by a killed process; returns how many. */
  removeStaleUploads(): Promise<number>;
}
