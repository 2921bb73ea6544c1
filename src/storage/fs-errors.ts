/**
 * The one place where file-system `errno` codes become protocol errors. The
 * messages are fixed strings: an fs error's own message holds the server's
 * path (`ENOENT: no such file or directory, open '/srv/…'`), and clients
 * read these messages, so nothing of the original error is copied.
 */
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  InsufficientStorageError,
  NotFoundError,
  ProtocolError,
} from '../protocol/errors';

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
});

/** The `errno` code of a Node fs error (`'ENOENT'`…), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Turn an fs error into the contract's error, or return it unchanged when its
 * code has no protocol meaning (the session then answers a bare 500 and logs
 * the original). Already-mapped `ProtocolError`s pass through.
 */
export function mapFsError(err: unknown): unknown {
  if (err instanceof ProtocolError) return err;
  switch (errnoCode(err)) {
    case 'ENOENT':
      return new NotFoundError(MESSAGES.notFound);
    case 'EISDIR':
      return new ConflictError(MESSAGES.isFolder);
    case 'ENOTDIR':
      return new ConflictError(MESSAGES.notFolder);
    case 'EEXIST':
      return new ConflictError(MESSAGES.exists);
    case 'ENOTEMPTY':
      return new ConflictError(MESSAGES.notEmpty);
    case 'EACCES':
    case 'EPERM':
      return new ForbiddenError(MESSAGES.permission);
    case 'EROFS':
      return new ForbiddenError(MESSAGES.readOnly);
    case 'ENOSPC':
    case 'EDQUOT':
      return new InsufficientStorageError(MESSAGES.noSpace);
    case 'ENAMETOOLONG':
      return new BadRequestError(MESSAGES.nameTooLong);
    case 'ELOOP':
      // Too many links: treated like any path that cannot be resolved.
      return new ForbiddenError(FORBIDDEN_PATH_MESSAGE);
    default:
      return err;
  }
}

/** `throw mapFsError(err)` in a form the type checker understands. */
export function rethrowMapped(err: unknown): never {
  throw mapFsError(err);
}
