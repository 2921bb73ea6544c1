/**
 * The client's one error class. Every failure the library reports — a
 * refusal from the server, a network fault, a checksum mismatch, a local file
 * problem — is an {@link FtpError} with a stable `kind`, so callers (the shell,
 * the one-shot CLI, the stress tool) choose a message and an exit code from
 * data instead of parsing text or stacks.
 */

/** What went wrong, independent of the message text. */
export type FtpErrorKind =
  /** The server would not serve this connection (greeting other than 200: 503, 429…). */
  | 'refused'
  /** 400: the server found the request malformed (bad path, bad field). */
  | 'bad_request'
  /** 401: authentication required or failed. */
  | 'auth'
  /** 403: outside the root, no permission, read-only server. */
  | 'forbidden'
  /** 404. */
  | 'not_found'
  /** 409: wrong kind of entry, already exists, not empty. */
  | 'conflict'
  /** 413: over the server's size limit. */
  | 'too_large'
  /** 412: the remote file is no longer the version asked for (`if_version`). */
  | 'changed'
  /** 416: resume offset beyond the remote file's size. */
  | 'range'
  /** 422 or a local SHA-256 mismatch: the bytes are not the bytes sent. */
  | 'integrity'
  /** 507: the server has no room. */
  | 'storage'
  /** 500 or another code the contract does not list for this command. */
  | 'server'
  /** The server broke the contract (bad frame, unexpected message). */
  | 'protocol'
  /** Could not connect, reset, closed mid-request. */
  | 'network'
  /** TLS failed: the server's certificate is not trusted, or the server does not speak TLS. */
  | 'tls'
  /** No byte moved for longer than the configured timeout. */
  | 'timeout'
  /** A local file could not be read or written. */
  | 'local'
  /** A name from the server that is not safe to use as a local file name. */
  | 'unsafe_name'
  /** The client was closed (or used after `quit`). */
  | 'closed';

/**
 * An error of the client library.
 *
 * `code` is the protocol code when the server sent one (e.g. 404), and 0 when
 * the failure happened on this side (network, timeout, local file, integrity
 * check done by the client).
 */
export class FtpError extends Error {
  constructor(
    readonly kind: FtpErrorKind,
    message: string,
    /** Protocol code from the server, or 0 when none was involved. */
    readonly code = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FtpError';
  }
}

/** The kind a response code stands for (§5 of the contract). */
export function kindForCode(code: number): FtpErrorKind {
  switch (code) {
    case 400: return 'bad_request';
    case 401: return 'auth';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 412: return 'changed';
    case 413: return 'too_large';
    case 416: return 'range';
    case 422: return 'integrity';
    case 429:
    case 503: return 'refused';
    case 507: return 'storage';
    default: return 'server';
  }
}

/**
 * Build the error for a response whose code was not the expected one.
 * `subject` (the path asked about) leads the message, since the server's own
 * text is generic ("Not found").
 */
export function errorFromResponse(reply: { code: number; message?: unknown }, subject?: string): FtpError {
  const text = typeof reply.message === 'string' && reply.message.length > 0
    ? reply.message
    : `Server answered ${reply.code}`;
  const prefix = subject ? `${subject}: ` : '';
  return new FtpError(kindForCode(reply.code), `${prefix}${text} (${reply.code})`, reply.code);
}

/** Node's socket error codes, in words a user understands. */
const NETWORK_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is the server running?)',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EADDRNOTAVAIL: 'address not available',
};

/**
 * Turn a socket-level error into a typed one, keeping the original as
 * `cause` for whoever logs it, and a one-line message for the user.
 */
export function networkError(err: unknown, where?: string): FtpError {
  if (err instanceof FtpError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = (code && NETWORK_TEXT[code]) ?? (err instanceof Error ? err.message : String(err));
  const kind: FtpErrorKind = code === 'ETIMEDOUT' ? 'timeout' : 'network';
  return new FtpError(kind, where ? `${where}: ${text}` : text, 0, { cause: err });
}

/** Turn a local file-system error into a typed one with a short message. */
export function localError(err: unknown, file: string): FtpError {
  if (err instanceof FtpError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === 'ENOENT' ? 'no such file or folder'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'is a folder'
    : code === 'ENOTDIR' ? 'not a folder'
    : code === 'ENOSPC' ? 'no space left on device'
    : err instanceof Error ? err.message : String(err);
  return new FtpError('local', `${file}: ${reason}`, 0, { cause: err });
}

/** OpenSSL's verdicts on a certificate, in words that say what to do. */
const CERT_TEXT: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s certificate is self-signed and not trusted (pass --ca with the server\'s cert.pem)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server\'s certificate chain ends in an untrusted self-signed CA (pass --ca with that CA)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server\'s certificate is not signed by a trusted CA (pass --ca)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server\'s certificate is not signed by a trusted CA (pass --ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'the server\'s certificate is not signed by a trusted CA (pass --ca)',
  CERT_HAS_EXPIRED: 'the server\'s certificate has expired',
  CERT_NOT_YET_VALID: 'the server\'s certificate is not valid yet (check the clocks)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server\'s certificate is for another name',
  CERT_REVOKED: 'the server\'s certificate was revoked',
};

/**
 * A failure while setting up TLS. Certificate problems get kind `tls` and a
 * message that says what to do; OpenSSL's protocol errors usually mean the
 * port does not speak TLS at all; socket errors stay `network`.
 */
export function tlsError(err: unknown, where?: string): FtpError {
  if (err instanceof FtpError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const prefix = where ? `${where}: ` : '';
  const certText = CERT_TEXT[code];
  if (certText) return new FtpError('tls', `${prefix}${certText}`, 0, { cause: err });
  if (code.startsWith('ERR_SSL_') || /CERT|SSL|TLS/.test(code)) {
    const detail = err instanceof Error ? err.message : String(err);
    const hint = code.startsWith('ERR_SSL_') ? ' (does the server speak TLS on this port?)' : '';
    return new FtpError('tls', `${prefix}TLS failed: ${detail}${hint}`, 0, { cause: err });
  }
  return networkError(err, where);
}
