/**
 * TEMPORARY — the shared core's storage interfaces as the lead designed them
 * (/work/briefs/core-design.md, issue 11), declared here so the S3 backend can
 * be written before the core refactor lands. At merge this file is replaced by
 * imports from `src/storage/errors.ts`, `src/storage/path-rules.ts` and
 * `src/storage/storage.ts`; nothing in it is S3-specific.
 *
 * The types are copied from the design as written. The three path functions
 * at the end adapt today's `parseClientPath` (which throws the native port's
 * `ProtocolError`s) to the designed `StorageError` kinds.
 */
import { parseClientPath as parseLegacy } from '../path-rules';

// ---------------------------------------------------------------- errors

export type StorageErrorKind =
  | 'invalid_path'      // breaks the path rules (native 400; FTP 553/501)
  | 'forbidden'         // outside the root/prefix, reserved name, not on the root (403; FTP 550)
  | 'permission_denied' // the account's permissions, or the OS/bucket refuses (403; 550)
  | 'not_found'         // (404; 550)
  | 'exists'            // (409; 550/553)
  | 'not_empty'         // (409; 550)
  | 'is_folder'         // a file operation on a folder (409; 550)
  | 'not_folder'        // a folder operation on a file; a parent that is a file (409; 550)
  | 'no_space'          // (507; FTP 452)
  | 'too_large'         // a listing over the reply budget (413; FTP 552/550)
  | 'name_too_long'     // (400; 553)
  | 'read_only'         // (403; 550)
  | 'not_supported'     // this backend cannot do it: e.g. folder RENAME on S3, APPE on S3 (403; 504/550)
  | 'unavailable'       // backend temporarily unreachable/throttled (500; FTP 451/421)
  | 'io';               // anything unexpected (500; 451)

/** Thrown by every storage backend. `message` is client-safe (no server paths, no SDK text). */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

// ---------------------------------------------------------------- paths

/** Parts of a client path that passed the contract's rules (§3): no '', '.', '..', NUL, '\\', lengths, temp names. */
export type StoragePath = readonly string[] & { readonly __storagePath: true };

// ---------------------------------------------------------------- storage

export interface StorageEntry {
  name: string;               // last part ('/' for the root in stat)
  type: 'file' | 'dir';
  size: number;               // 0 for folders
  mtime: Date;                // millisecond precision
}

export interface StorageCapabilities {
  /** RENAME of a folder is one atomic step. When false, folder renames throw not_supported. */
  readonly atomicFolderRename: boolean;
  /** beginUpload({ offset > 0 }) (FTP APPE / REST+STOR) works. When false: not_supported. */
  readonly resumableUploads: boolean;
  /** setModificationTime (FTP MFMT) works. */
  readonly settableMtime: boolean;
}

/** One version of a file, opened for download: every byte of one reply comes from it. */
export interface DownloadSource {
  /** Size at open. */
  readonly size: number;
  /**
   * Identity of this version: equal for two opens of the same unchanged file, different once it
   * was replaced or written. Local: dev:ino:size:mtimeNs:ctimeNs. S3: the ETag (+ size).
   * Keys the digest cache; the native GET's opaque `version` is derived from it.
   */
  readonly versionKey: string;
  /** The SHA-256 the backend stored with this version (S3 metadata), if any. */
  readonly storedSha256?: string;
  /** Bytes [start, end) as a stream with backpressure (S3: a ranged GET). */
  createReadStream(start: number, end: number): NodeJS.ReadableStream & AsyncIterable<Buffer>;
  /** Random access into a caller's buffer (local pread). Absent on object stores. */
  read?(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Local fast path: the open descriptor, for the off-thread hash worker. */
  readonly fd?: number;
  /** Release it; safe to call more than once. */
  close(): Promise<void>;
}

/** A whole small file read in one go (one version), from Storage.readSmall. */
export interface SmallFile { data: Buffer; size: number; versionKey: string }

export interface UploadOptions {
  /** Bytes announced (native PUT). Undefined for FTP STOR (until EOF): backends must cope. */
  size?: number;
  /** The client's digest when known before the bytes (native PUT with sha256). */
  sha256?: string;
  /**
   * May an existing file at the path be replaced? Checked atomically at commit (no
   * check-then-rename race): false + an existing file -> permission_denied.
   */
  replace: boolean;
  /** Resume: keep bytes [0, offset) of the existing file and write from there (APPE, REST+STOR). */
  offset?: number;
}

/** An upload in progress: invisible to readers until commit. */
export interface PendingUpload {
  /** Where the payload bytes go, with backpressure (write() false -> wait for 'drain'). */
  readonly stream: NodeJS.WritableStream;
  /**
   * Publish it: the stream has ended and every byte is in. `sha256` is the digest of the whole
   * file as the transfer layer computed it (backends may store it: S3 metadata). Resolves with the
   * new version key. Any failure leaves the old file (or none) and removes what was written.
   */
  commit(info: { sha256: string | undefined; bytes: number }): Promise<{ versionKey: string }>;
  /** Throw it away; the target is untouched. Idempotent. */
  abort(): Promise<void>;
}

export interface ListOptions {
  /** Stop and throw too_large once the entries would exceed this many bytes as JSON (approx). */
  maxReplyBytes?: number;
}

export interface Storage {
  readonly capabilities: StorageCapabilities;
  /** A folder's entries, sorted by code point (see compareCodePoints). not_found / not_folder. */
  list(path: StoragePath, options?: ListOptions): Promise<StorageEntry[]>;
  stat(path: StoragePath): Promise<StorageEntry>;
  /** Optional fast path for small files (undefined -> use openRead). */
  readSmall?(path: StoragePath, maxBytes: number): Promise<SmallFile | undefined>;
  /** is_folder for a folder. */
  openRead(path: StoragePath): Promise<DownloadSource>;
  /** Checks name, parent (not_found / not_folder), target not a folder (is_folder), space (no_space). */
  beginUpload(path: StoragePath, options: UploadOptions): Promise<PendingUpload>;
  deleteFile(path: StoragePath): Promise<void>;
  makeDirectory(path: StoragePath): Promise<void>;
  removeDirectory(path: StoragePath): Promise<void>;
  /** replace: as in UploadOptions. Folders: see capabilities.atomicFolderRename. */
  rename(from: StoragePath, to: StoragePath, options: { replace: boolean }): Promise<void>;
  /** MFMT; only when capabilities.settableMtime. */
  setModificationTime?(path: StoragePath, mtime: Date): Promise<void>;
  /**
   * A storage whose root is `subpath` of this one (home folders): every path the scoped storage
   * takes is confined to it, by the same rules as the root. Creates nothing.
   */
  scope(subpath: StoragePath): Promise<Storage>;
  /** Remove uploads left by a killed process (temp files, multipart uploads); optional. */
  removeStaleUploads?(): Promise<number>;
  /** Release clients/handles (S3 client, workers). Optional. */
  close?(): Promise<void>;
}

// ------------------------------------------- temporary path adapters

/** Parse a client path (§3) into a {@link StoragePath}; throws invalid_path / forbidden. */
export function parseClientPath(raw: string): StoragePath {
  try {
    return parseLegacy(raw) as readonly string[] as StoragePath;
  } catch (err) {
    // Today's rules throw 400 (invalid) or 403 (reserved name), with client-safe text.
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : 'Invalid path';
    throw new StorageError(code === 403 ? 'forbidden' : 'invalid_path', message, { cause: err });
  }
}

/** The root: no parts. */
export function rootPath(): StoragePath {
  return [] as readonly string[] as StoragePath;
}

/** `parent` plus one validated `name`. */
export function childPath(parent: StoragePath, name: string): StoragePath {
  if (name.includes('/')) throw new StorageError('invalid_path', 'Invalid path: a name cannot contain /');
  const [part] = parseClientPath(name);
  if (part === undefined) throw new StorageError('invalid_path', 'Invalid path: empty name');
  return [...parent, part] as readonly string[] as StoragePath;
}
