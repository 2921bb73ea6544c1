/**
 * The FTP port's one table from failures to replies. Storage kinds are
 * mapped per command in `storage-replies.ts`; this adds the auth layer's and
 * the transfer layer's kinds, the FTP port's own refusals
 * ({@link FtpReplyError}), an aborted data transfer, and anything
 * unexpected. Every path ends in an FTP code: a native code (401, 404, 409,
 * 412, 416, 422, 507...) has no way onto a control connection.
 *
 * The first digit keeps its promise here too (RFC 959 §4.2.1): a refusal
 * that a retry may get past is 4xx, one that it will not is 5xx. A 421
 * closes the control connection (RFC 959: "service not available, closing
 * control connection"), so the kinds that answer it say so.
 */
import { AuthError, type AuthErrorKind } from '../auth/errors';
import { TransferAbortedError, TransferError, type TransferErrorKind } from '../core/errors';
import { StorageError } from '../storage/errors';
import { FtpPathError } from './ftp-paths';
import { storageErrorReply, type FtpReply } from './storage-replies';

export type { FtpReply } from './storage-replies';

/** A reply that also ends the session (421). */
export interface ClosingReply extends FtpReply {
  close?: boolean;
}

/**
 * A refusal of the FTP port itself (a bad argument, a command out of
 * sequence, a policy): its code and text are the reply. `close` ends the
 * session after it (only with 421).
 */
export class FtpReplyError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly close = false,
  ) {
    super(message);
    this.name = 'FtpReplyError';
  }
}

/**
 * Login failures. A wrong password is 530 (RFC 959's "not logged in"); the
 * ones that say "not now" are 421 and close the connection: a banned
 * address must not keep guessing on a connection it opened before the ban,
 * and 421 is the only 4xx that PASS may answer.
 */
export const AUTH_REPLIES: Readonly<Record<AuthErrorKind, ClosingReply>> = Object.freeze({
  auth_required: { code: 530, text: 'Please log in with USER and PASS' },
  login_failed: { code: 530, text: 'Login incorrect' },
  banned: { code: 421, text: 'Too many failed logins from your address; try again later', close: true },
  busy: { code: 421, text: 'Too many logins in progress from your address; try again later', close: true },
  unavailable: { code: 421, text: 'Service not available for this account now; try again later', close: true },
});

/**
 * Transfer refusals. FTP never sends a version or a digest with a request,
 * so the last two cannot happen on this port today; they are mapped all the
 * same, so the table is complete whatever the transfer layer grows.
 */
export const TRANSFER_REPLIES: Readonly<Record<TransferErrorKind, FtpReply>> = Object.freeze({
  // RFC 3659 §5.5: a REST offset the transfer cannot honour.
  offset_beyond_size: { code: 554, text: 'Requested action not taken: invalid REST parameter (beyond the end of the file)' },
  version_changed: { code: 450, text: 'The file changed meanwhile; try again' },
  checksum_mismatch: { code: 451, text: 'Checksum mismatch: upload discarded; try again' },
  // RFC 959: "exceeded storage allocation".
  upload_too_large: { code: 552, text: 'Exceeded storage allocation: the upload is larger than this server takes' },
});

/** The reply to a payload that did not move whole (the data connection closed, stalled or was aborted). */
export function abortedReply(err: TransferAbortedError): FtpReply {
  return { code: 426, text: `Connection closed; transfer aborted (${err.message})` };
}

/** RFC 959's reply for a failure of our own: it may work later. */
export const LOCAL_ERROR: FtpReply = Object.freeze({ code: 451, text: 'Requested action aborted: local error in processing' });

/** What to answer and log for one failed command. */
export interface FailureOutcome extends ClosingReply {
  /** A typed failure the server expected (else: a bug, logged with its stack). */
  expected: boolean;
  /** The message for the log line (client-safe: the failing layer wrote it for clients). */
  logText: string;
  /** A failure on the server's side that may clear up (no space, storage away): logged as ERROR. */
  serverSide: boolean;
}

/** Storage kinds whose own message says more than the table's text (who may not, what the backend cannot). */
const DETAILED_KINDS = new Set(['permission_denied', 'not_supported', 'read_only']);

/**
 * The reply for anything a command threw, during command `verb`
 * (upper-case, as the table keys it).
 */
export function failureReply(err: unknown, verb: string): FailureOutcome {
  if (err instanceof FtpReplyError) {
    return { code: err.code, text: err.message, close: err.close, expected: true, logText: err.message, serverSide: false };
  }
  if (err instanceof FtpPathError) {
    return { ...storageErrorReply(err.kind, verb), expected: true, logText: err.message, serverSide: false };
  }
  if (err instanceof StorageError) {
    const reply = storageErrorReply(err.kind, verb);
    const text = DETAILED_KINDS.has(err.kind) ? err.message : reply.text;
    // `io` is a bare "something broke": its message is for the log only.
    return { code: reply.code, text, expected: err.kind !== 'io', logText: err.message, serverSide: reply.code < 500 };
  }
  if (err instanceof AuthError) {
    return { ...AUTH_REPLIES[err.kind], expected: true, logText: err.message, serverSide: err.kind === 'unavailable' };
  }
  if (err instanceof TransferError) {
    return { ...TRANSFER_REPLIES[err.kind], expected: true, logText: err.message, serverSide: false };
  }
  if (err instanceof TransferAbortedError) {
    return { ...abortedReply(err), expected: true, logText: err.message, serverSide: false };
  }
  return { ...LOCAL_ERROR, expected: false, logText: 'Internal error', serverSide: true };
}
