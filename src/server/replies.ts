/**
 * The native port's one table from failures to reply codes (contract §5).
 * Storage, auth and the transfer layer throw their own kinds; this is the
 * only place that knows which code each becomes here, and the compiler
 * checks the table is complete. The messages pass through as they are:
 * each layer writes them for clients.
 */
import type { AuthErrorKind } from '../auth/errors';
import { AuthError } from '../auth/errors';
import { TransferError, type TransferErrorKind } from '../core/errors';
import { CODE_TEXT, ProtocolError } from '../protocol/errors';
import { StorageError, type StorageErrorKind } from '../storage/errors';
import type { Refusal } from '../core/admission';

type RefusalReason = Refusal['reason'];

/** A storage failure's code. */
export const STORAGE_CODES: Readonly<Record<StorageErrorKind, number>> = Object.freeze({
  invalid_path: 400,
  forbidden: 403,
  permission_denied: 403,
  not_found: 404,
  exists: 409,
  not_empty: 409,
  is_folder: 409,
  not_folder: 409,
  invalid_move: 409,
  no_space: 507,
  too_large: 413,
  name_too_long: 400,
  read_only: 403,
  not_supported: 403,
  unavailable: 500,
  io: 500,
});

/** A login failure's code: every one is "not logged in" (401), but a server-side failure. */
export const AUTH_CODES: Readonly<Record<AuthErrorKind, number>> = Object.freeze({
  auth_required: 401,
  login_failed: 401,
  banned: 401,
  busy: 401,
  unavailable: 500,
});

/** A transfer refusal's code. */
export const TRANSFER_CODES: Readonly<Record<TransferErrorKind, number>> = Object.freeze({
  offset_beyond_size: 416,
  version_changed: 412,
  checksum_mismatch: 422,
  upload_too_large: 413,
});

/** Kinds whose message is a bare server error: the log has the cause, the client learns nothing. */
const OPAQUE: ReadonlySet<StorageErrorKind> = new Set(['io']);

/**
 * True for failures the server expected (a refusal, a typed error of a
 * layer) as opposed to bugs and unknown errors, which are logged with
 * their stack and answered with a bare 500.
 */
export function isExpectedFailure(err: unknown): boolean {
  if (err instanceof StorageError) return !OPAQUE.has(err.kind);
  return err instanceof ProtocolError || err instanceof AuthError || err instanceof TransferError;
}

/** Anything thrown, as the reply the native port sends for it. */
export function toNativeError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if (err instanceof StorageError) {
    return OPAQUE.has(err.kind) ? new ProtocolError(500, CODE_TEXT[500]) : new ProtocolError(STORAGE_CODES[err.kind], err.message);
  }
  if (err instanceof AuthError) return new ProtocolError(AUTH_CODES[err.kind], err.message);
  if (err instanceof TransferError) return new ProtocolError(TRANSFER_CODES[err.kind], err.message);
  return new ProtocolError(500, CODE_TEXT[500]);
}

/** The greeting code of a refused connection: the server is full (503), or this address is over a limit (429). */
export function refusalCode(reason: RefusalReason): 429 | 503 {
  return reason === 'max_connections' ? 503 : 429;
}
