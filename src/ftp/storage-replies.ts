/**
 * The FTP front end's one table from storage error kinds to FTP replies.
 *
 * In FTP the first digit is the contract: 4xx means "the same command may
 * work later", 5xx "it will not" (RFC 959 §4.2.1). So the kinds that can
 * clear up by themselves (`no_space`, `unavailable`, `io`) map to 4xx and
 * every other kind to 5xx, and no native-port code (404, 409, 507...) can
 * leak through: every reply below is an FTP code.
 *
 * Codes follow the per-command lists of RFC 959 §5.4 where a list has a code
 * of the right class and meaning. Where it has none, the meaning wins and the
 * deviation is written down here and in docs/FTP.md:
 * - CWD, MKD, RMD and RNTO list no 4xx besides 421 (which closes the
 *   connection), so their transient failures answer 450;
 * - LIST/NLST/STAT list no 550, but a missing folder is permanent: 550, as
 *   most servers answer (ProFTPD's 450 makes clients retry in vain);
 * - STOR/STOU list no 550 for "permission denied", the reply every client
 *   knows for it (vsftpd answers the same);
 * - names refused on MKD answer 553, the code RFC 959 gives to "file name
 *   not allowed", though §5.4 lists it only for the storing commands.
 * RFC 3659 commands (SIZE, MDTM, MLST, MLSD) and the MFMT/HASH drafts allow
 * any 4xx/5xx error (RFC 3659 §2.4).
 */

import { STORAGE_ERROR_KINDS, type StorageErrorKind } from '../storage/errors';

export { STORAGE_ERROR_KINDS, type StorageErrorKind };

/** The kinds a later retry may get past; they, and only they, answer 4xx. */
export const TRANSIENT_KINDS: ReadonlySet<StorageErrorKind> = new Set(['no_space', 'unavailable', 'io']);

/** A reply to send on the control connection. */
export interface FtpReply {
  code: number;
  text: string;
}

/**
 * The reply for each kind when the command has no reason to differ: the
 * reading and listing commands (RETR, LIST, NLST, MLSD, MLST, SIZE, MDTM,
 * MFMT, HASH, STAT). The `Record` makes the compiler prove it is complete.
 */
const DEFAULT_REPLIES: Record<StorageErrorKind, FtpReply> = {
  invalid_path: { code: 501, text: 'Invalid path' },
  forbidden: { code: 550, text: 'Access denied' },
  permission_denied: { code: 550, text: 'Permission denied' },
  not_found: { code: 550, text: 'No such file or directory' },
  exists: { code: 550, text: 'File exists' },
  not_empty: { code: 550, text: 'Directory not empty' },
  is_folder: { code: 550, text: 'Is a directory' },
  not_folder: { code: 550, text: 'Not a directory' },
  invalid_move: { code: 550, text: 'Cannot move a directory into itself or a link over its own target' },
  no_space: { code: 451, text: 'Insufficient storage space; try again later' },
  too_large: { code: 550, text: 'File too large' },
  name_too_long: { code: 501, text: 'File name too long' },
  read_only: { code: 550, text: 'Storage is read-only' },
  not_supported: { code: 550, text: 'Not supported by this storage' },
  unavailable: { code: 451, text: 'Storage temporarily unavailable; try again later' },
  io: { code: 451, text: 'Local error in processing; try again later' },
};

/** Commands grouped by how their replies differ from the defaults. */
type CommandFamily = 'read' | 'list' | 'store' | 'navigate' | 'mkdir' | 'remove' | 'rename_to';

/** A full disk where something is created: RFC 959's 452, "insufficient storage space". */
const NO_SPACE_452: FtpReply = { code: 452, text: 'Insufficient storage space; try again later' };

/** Transient failures of commands whose RFC 959 list has 450 and no 451. */
const FILE_ACTION_TRANSIENT: Partial<Record<StorageErrorKind, FtpReply>> = {
  no_space: { code: 450, text: 'Insufficient storage space; try again later' },
  unavailable: { code: 450, text: 'Storage temporarily unavailable; try again later' },
  io: { code: 450, text: 'Requested file action not taken; try again later' },
};

/** Names a creating command refuses: RFC 959's 553, "File name not allowed". */
const NAME_NOT_ALLOWED: Partial<Record<StorageErrorKind, FtpReply>> = {
  invalid_path: { code: 553, text: 'File name not allowed' },
  forbidden: { code: 553, text: 'File name not allowed' },
  name_too_long: { code: 553, text: 'File name not allowed: too long' },
};

const FAMILY_REPLIES: Record<CommandFamily, Partial<Record<StorageErrorKind, FtpReply>>> = {
  read: {},
  // A folder too large to list in one go (the storage's bound on the work a listing costs).
  list: { too_large: { code: 550, text: 'Directory listing too large' } },
  // STOR, STOU, APPE: 452 for a full disk (may clear), 552 for going over
  // the upload size limit (RFC 959: "exceeded storage allocation"), 553 for a
  // target that cannot be created under that name.
  store: {
    ...NAME_NOT_ALLOWED,
    not_found: { code: 553, text: 'Could not create file: the folder does not exist' },
    exists: { code: 553, text: 'Could not create file: it exists' },
    is_folder: { code: 553, text: 'Could not create file: a directory has that name' },
    not_folder: { code: 553, text: 'Could not create file: part of the path is not a directory' },
    no_space: NO_SPACE_452,
    too_large: { code: 552, text: 'Exceeded storage allocation: file too large' },
  },
  navigate: { ...FILE_ACTION_TRANSIENT },
  mkdir: { ...NAME_NOT_ALLOWED, ...FILE_ACTION_TRANSIENT, no_space: NO_SPACE_452 },
  // DELE, RMD, RNFR.
  remove: { ...FILE_ACTION_TRANSIENT },
  rename_to: {
    ...NAME_NOT_ALLOWED,
    ...FILE_ACTION_TRANSIENT,
    exists: { code: 553, text: 'File name not allowed: the target exists' },
    is_folder: { code: 553, text: 'File name not allowed: a directory has that name' },
    not_folder: { code: 553, text: 'File name not allowed: part of the path is not a directory' },
    invalid_move: { code: 553, text: 'File name not allowed: inside the directory being moved, or the link\'s own target' },
    no_space: NO_SPACE_452,
  },
};

const FAMILY_OF_VERB: Readonly<Record<string, CommandFamily>> = {
  LIST: 'list',
  NLST: 'list',
  MLSD: 'list',
  STAT: 'list',
  STOR: 'store',
  STOU: 'store',
  APPE: 'store',
  CWD: 'navigate',
  XCWD: 'navigate',
  CDUP: 'navigate',
  XCUP: 'navigate',
  MKD: 'mkdir',
  XMKD: 'mkdir',
  RMD: 'remove',
  XRMD: 'remove',
  DELE: 'remove',
  RNFR: 'remove',
  RNTO: 'rename_to',
};

/**
 * The reply for a storage failure of `kind` during command `verb`
 * (upper-case). Verbs not named in the table get the default replies.
 */
export function storageErrorReply(kind: StorageErrorKind, verb: string): FtpReply {
  const family = FAMILY_OF_VERB[verb] ?? 'read';
  return FAMILY_REPLIES[family][kind] ?? DEFAULT_REPLIES[kind];
}
