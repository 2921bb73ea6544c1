/**
 * The FTP namespace: turning what a client names (absolute, relative to the
 * session's working directory, with `.`, `..`, `~` and trailing slashes)
 * into the one clean absolute path the storage layer takes.
 *
 * Resolution is lexical and happens inside the virtual root: `..` at `/`
 * stays at `/`, as on any Unix root, so no spelling climbs out of it. The
 * result (`/a/b`, no `.` or `..` parts) then goes through the contract's path
 * rules (`parseClientPath`: NUL, backslash, lengths, reserved names), and the
 * storage layer still confines it after following symlinks: this module is
 * the first wall, not the only one. Nothing is decoded: `%2e%2e` is a name of
 * six characters, and a backslash is refused rather than read as a separator.
 */
import { StorageError } from '../storage/errors';
import { parseClientPath } from '../storage/path-rules';

/** Why a path was refused, in the storage layer's own words (see storage-replies.ts). */
export type FtpPathErrorKind = 'invalid_path' | 'forbidden';

/** A client path the path rules refuse; the session maps `kind` to a reply. */
export class FtpPathError extends Error {
  constructor(
    readonly kind: FtpPathErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FtpPathError';
  }
}

/** The virtual root, which is also every session's first working directory. */
export const FTP_ROOT = '/';

/**
 * Resolve `arg` against the working directory `cwd` (itself a clean absolute
 * path from an earlier call). `~` alone or as the first part means the root:
 * the root already is the user's home folder.
 *
 * @throws FtpPathError for an empty argument, or when the resolved path
 *   breaks the path rules (`invalid_path`) or names a reserved file
 *   (`forbidden`).
 */
export function resolveFtpPath(cwd: string, arg: string): string {
  if (arg.length === 0) throw new FtpPathError('invalid_path', 'Invalid path: empty');
  const fromRoot = arg.startsWith('/') || arg === '~' || arg.startsWith('~/');
  const rest = arg === '~' || arg.startsWith('~/') ? arg.slice(1) : arg;
  // The cwd goes through the same loop as the argument: it should be clean
  // already, and if a caller ever got that wrong this still cannot climb out.
  const raw = fromRoot ? rest : `${cwd}/${rest}`;
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  const path = `/${parts.join('/')}`;
  try {
    parseClientPath(path);
  } catch (err) {
    if (err instanceof StorageError) throw new FtpPathError(err.kind === 'forbidden' ? 'forbidden' : 'invalid_path', err.message);
    throw err;
  }
  return path;
}

/** `CDUP` (RFC 959 §4.1.1): the parent of the working directory; the root's parent is the root. */
export function parentPath(cwd: string): string {
  return resolveFtpPath(cwd, '..');
}

/** The last part of a clean absolute path (`''` for the root). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
