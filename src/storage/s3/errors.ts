/**
 * The one table from S3 and SDK failures to storage error kinds. Messages are
 * fixed strings: a client never sees a bucket, a key, a request id or the
 * SDK's text; the original error rides along as `cause` for the log.
 */
import { StorageError, type StorageErrorKind } from '../errors';

/** The fields of an SDK (or Node network) error this table reads. */
interface S3ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** S3 error codes (the XML `Code`, which the SDK puts in `name`) by kind. */
const BY_CODE: Readonly<Record<string, StorageErrorKind>> = {
  NoSuchKey: 'not_found',
  NotFound: 'not_found',
  AccessDenied: 'permission_denied',
  AllAccessDisabled: 'permission_denied',
  InvalidObjectState: 'permission_denied', // archived (Glacier) objects cannot be read
  AccountProblem: 'permission_denied',
  EntityTooLarge: 'too_large',
  KeyTooLongError: 'name_too_long',
  SlowDown: 'unavailable',
  ServiceUnavailable: 'unavailable',
  InternalError: 'unavailable',
  RequestTimeout: 'unavailable',
  RequestTimeTooSkewed: 'unavailable',
  TimeoutError: 'unavailable',
  ThrottlingException: 'unavailable',
  TooManyRequestsException: 'unavailable',
  NetworkingError: 'unavailable',
};

/** Node socket errors: the endpoint cannot be reached right now. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET',
]);

const NETWORK_TEXT = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);

/** The client-safe message of each kind this table produces. */
const MESSAGES: Readonly<Partial<Record<StorageErrorKind, string>>> = {
  not_found: 'Not found',
  permission_denied: 'Permission denied by the storage',
  too_large: 'Too large for the storage',
  name_too_long: 'Name too long for the storage',
  unavailable: 'Storage temporarily unavailable',
  io: 'Storage error',
};

function httpStatus(err: S3ErrorShape): number | undefined {
  return err.$metadata?.httpStatusCode;
}

/** True for S3's 412: a conditional request (If-Match, If-None-Match) did not hold. */
export function isPreconditionFailed(err: unknown): boolean {
  const shape = (err ?? {}) as S3ErrorShape;
  return shape.name === 'PreconditionFailed' || httpStatus(shape) === 412;
}

/** True for a missing key (GetObject's NoSuchKey, HeadObject's bare 404). */
export function isNotFound(err: unknown): boolean {
  const shape = (err ?? {}) as S3ErrorShape;
  return shape.name === 'NoSuchKey' || shape.name === 'NotFound' || httpStatus(shape) === 404;
}

/** The storage kind of any failure from the SDK or the network. */
export function kindOf(err: unknown): StorageErrorKind {
  if (err instanceof StorageError) return err.kind;
  const shape = (err ?? {}) as S3ErrorShape;
  const byCode = BY_CODE[shape.name ?? ''] ?? BY_CODE[shape.Code ?? ''];
  if (byCode) return byCode;
  if (shape.code !== undefined && NETWORK_CODES.has(shape.code)) return 'unavailable';
  // The SDK re-wraps an error it cannot recognise as an Error (one from
  // another realm, as under a test runner's VM) as bare text: read the code there.
  if (err instanceof Error && NETWORK_TEXT.test(err.message)) return 'unavailable';
  const status = httpStatus(shape);
  if (status === 404) return 'not_found';
  if (status === 403) return 'permission_denied';
  if (status === 429 || status === 503 || (status !== undefined && status >= 500)) return 'unavailable';
  return 'io';
}

/** `err` as a {@link StorageError} with a fixed client-safe message (the original as cause). */
export function toStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const kind = kindOf(err);
  return new StorageError(kind, MESSAGES[kind] ?? 'Storage error', { cause: err });
}

/** For `.catch()`: rethrow anything as a {@link StorageError}. */
export function rethrowStorage(err: unknown): never {
  throw toStorageError(err);
}
