/**
 * What can go wrong in a storage backend, in storage terms. Backends throw
 * {@link StorageError}s and nothing else a client could see; each front end
 * turns a kind into its own reply in one table (the native port's codes in
 * `src/server/replies.ts`, FTP's in `src/ftp/storage-replies.ts`). Keeping
 * wire codes out of here is what lets an FTP 550 and a native 404 come from
 * the same failure.
 */

/** Every way a storage operation can fail. Stable strings: tables and tests key on them. */
export type StorageErrorKind =
  /** The path breaks the path rules (empty, too long, NUL, backslash, `.`/`..`). */
  | 'invalid_path'
  /** Outside the root (or a scope), a reserved name, not allowed on the root itself. */
  | 'forbidden'
  /** The account's permissions, or the operating system or bucket policy, refuse it. */
  | 'permission_denied'
  | 'not_found'
  | 'exists'
  | 'not_empty'
  /** A file operation on a folder. */
  | 'is_folder'
  /** A folder operation on a file, or a parent that is a file. */
  | 'not_folder'
  /** A rename that contradicts itself: a folder into itself, a link over its own target. */
  | 'invalid_move'
  | 'no_space'
  /** A listing too large for one reply. */
  | 'too_large'
  | 'name_too_long'
  | 'read_only'
  /** This backend cannot do it (a folder rename on an object store, say). */
  | 'not_supported'
  /** The backend is unreachable or throttling for now; trying later may work. */
  | 'unavailable'
  /** Anything unexpected; the log has the cause, the client a bare message. */
  | 'io';

/** Every kind, for tables that must prove they are complete. */
export const STORAGE_ERROR_KINDS: readonly StorageErrorKind[] = [
  'invalid_path',
  'forbidden',
  'permission_denied',
  'not_found',
  'exists',
  'not_empty',
  'is_folder',
  'not_folder',
  'invalid_move',
  'no_space',
  'too_large',
  'name_too_long',
  'read_only',
  'not_supported',
  'unavailable',
  'io',
];

/**
 * A storage failure. `message` is meant for clients: it never holds a
 * server path, a bucket name, an SDK's text or a stack; `cause` keeps the
 * original for the log.
 */
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

/** True when `err` is a {@link StorageError} (of `kind`, when given). */
export function isStorageError(err: unknown, kind?: StorageErrorKind): err is StorageError {
  return err instanceof StorageError && (kind === undefined || err.kind === kind);
}
