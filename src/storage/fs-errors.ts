/**
 * The one place where file-system `errno` codes become storage errors. The
 * messages are fixed strings: an fs error's own message holds the server's
 * path (`ENOENT: no such file or directory, open '/srv/…'`), and clients
 * read these messages, so nothing of the original error is copied.
 */
import { StorageError } from './errors';

/**
 * The one message for every path that leaves the root or cannot be resolved.
 * The same text whether or not the outside target exists, so a client cannot
 * probe the server's disk by comparing answers.
 */
export const FORBIDDEN_PATH_MESSAGE = 'Access denied';

/** Client-facing messages of the storage layer, one per situation. */
export const MESSAGES = Object.freeze({
  notFound: 'Not found',
  parentNotFound: 'Parent folder not found',
  parentIsFile: 'Parent is not a folder',
  isFolder: 'Is a folder',
  notFolder: 'Not a folder',
  exists: 'Already exists',
  notEmpty: 'Folder not empty',
  intoItself: 'Cannot move a folder into itself',
  sameFile: 'Source and destination are the same file',
  permission: 'Permission denied',
  readOnly: 'Read-only file system',
  noSpace: 'Insufficient storage',
  nameTooLong: 'Name too long',
  notRegular: 'Not a regular file or folder',
  root: 'Not allowed on the root folder',
  replaceNeedsDelete: 'Permission denied: replacing a file needs delete',
  linkWouldEscape: 'Refused: a symlink moved there would not lead inside the served folder',
  tooManyToCheck: 'Refused: the folder holds too many entries to check its symlinks; move its contents in parts',
  listingTooLarge: 'Listing exceeds the reply frame limit; list a smaller folder',
  resumePastEnd: 'Resume offset is past the end of the file',
});

/** The `errno` code of a Node fs error (`'ENOENT'`…), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Turn an fs error into a {@link StorageError}, or return it unchanged when
 * its code has no meaning a client could act on (front ends then answer a
 * bare server error and log the original). Storage errors pass through.
 */
export function mapFsError(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  switch (errnoCode(err)) {
    case 'ENOENT':
      return new StorageError('not_found', MESSAGES.notFound, { cause: err });
    case 'EISDIR':
      return new StorageError('is_folder', MESSAGES.isFolder, { cause: err });
    case 'ENOTDIR':
      return new StorageError('not_folder', MESSAGES.notFolder, { cause: err });
    case 'EEXIST':
      return new StorageError('exists', MESSAGES.exists, { cause: err });
    case 'ENOTEMPTY':
      return new StorageError('not_empty', MESSAGES.notEmpty, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StorageError('permission_denied', MESSAGES.permission, { cause: err });
    case 'EROFS':
      return new StorageError('read_only', MESSAGES.readOnly, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('no_space', MESSAGES.noSpace, { cause: err });
    case 'ENAMETOOLONG':
      return new StorageError('name_too_long', MESSAGES.nameTooLong, { cause: err });
    case 'ELOOP':
      // Too many links: treated like any path that cannot be resolved.
      return new StorageError('forbidden', FORBIDDEN_PATH_MESSAGE, { cause: err });
    default:
      return err;
  }
}

/** `throw mapFsError(err)` in a form the type checker understands. */
export function rethrowMapped(err: unknown): never {
  throw mapFsError(err);
}
