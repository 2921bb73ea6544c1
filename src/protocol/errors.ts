/**
 * Typed errors carrying the protocol code of the contract (§5). Commands and
 * storage throw these; the session turns them into a `response` frame in one
 * place. Their messages are meant for the client, so they never hold a server
 * path, a stack or a secret.
 */
export class ProtocolError extends Error {
  constructor(
    /** The integer code of the contract's table. */
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends ProtocolError {
  constructor(message: string) { super(400, message); }
}
export class AuthRequiredError extends ProtocolError {
  constructor(message = 'Authentication required') { super(401, message); }
}
export class ForbiddenError extends ProtocolError {
  constructor(message = 'Forbidden') { super(403, message); }
}
export class NotFoundError extends ProtocolError {
  constructor(message = 'Not found') { super(404, message); }
}
export class ConflictError extends ProtocolError {
  constructor(message: string) { super(409, message); }
}
export class TooLargeError extends ProtocolError {
  constructor(message: string) { super(413, message); }
}
/**
 * `GET` with `if_version`: the file is no longer that version, so resuming
 * would splice two versions together. Nothing is sent after it.
 */
export class PreconditionFailedError extends ProtocolError {
  constructor(message = 'File changed since that version') { super(412, message); }
}
export class RangeError416 extends ProtocolError {
  constructor(message: string) { super(416, message); }
}
export class IntegrityError extends ProtocolError {
  constructor(message = 'Checksum mismatch') { super(422, message); }
}
export class InsufficientStorageError extends ProtocolError {
  constructor(message = 'Insufficient storage') { super(507, message); }
}

/**
 * An error that means the byte stream can no longer be trusted: the session
 * answers with its code and then closes the connection (§1).
 */
export class FramingError extends ProtocolError {}

/** The contract's short reason for each code, used where no better text exists. */
export const CODE_TEXT: Readonly<Record<number, string>> = {
  150: 'Ready to receive',
  200: 'OK',
  226: 'Transfer complete',
  400: 'Bad request',
  401: 'Authentication required',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  412: 'File changed since that version',
  413: 'Too large',
  416: 'Offset beyond file size',
  422: 'Checksum mismatch',
  429: 'Too many connections',
  500: 'Internal server error',
  503: 'Server busy',
  507: 'Insufficient storage',
};

/**
 * Map anything thrown to a code and a client-safe message. Unknown errors
 * become a bare `500`: the log keeps the detail, the client learns nothing
 * about the server's insides.
 */
export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(500, CODE_TEXT[500]);
}

/**
 * An error raised while writing upload bytes to disk, as the client should
 * see it: a full disk or quota is `507`, anything else a plain `500`.
 */
export function toStorageWriteError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new InsufficientStorageError('No space left for this upload');
  return new ProtocolError(500, CODE_TEXT[500]);
}
