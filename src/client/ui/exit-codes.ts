import { FtpError, type FtpErrorKind } from '../errors';

/**
 * Exit codes of `ftp-client`, so scripts can tell failures apart without
 * reading the message. Documented in `ftp-client --help`.
 */
export const EXIT = Object.freeze({
  /** Everything worked. */
  OK: 0,
  /** The server said no for another reason (400, 403, 409, 412, 413, 416, 500, 507…). */
  FAILED: 1,
  /** Bad command line (unknown command, missing argument). */
  USAGE: 2,
  /** The server refused the connection (busy: 503, too many from this IP: 429). */
  REFUSED: 3,
  /** The remote file or folder does not exist (404). */
  NOT_FOUND: 4,
  /** Cannot connect, connection reset or closed, timed out. */
  NETWORK: 5,
  /** Checksum mismatch: the bytes are not the bytes sent (422 or trailer mismatch). */
  INTEGRITY: 6,
  /** A local file could not be read or written, or a server name was unsafe. */
  LOCAL: 7,
  /** Authentication required or failed (401). */
  AUTH: 8,
  /** TLS failed: the server's certificate is not trusted, or the port does not speak TLS. */
  TLS: 9,
});

const BY_KIND: Partial<Record<FtpErrorKind, number>> = {
  refused: EXIT.REFUSED,
  not_found: EXIT.NOT_FOUND,
  network: EXIT.NETWORK,
  timeout: EXIT.NETWORK,
  closed: EXIT.NETWORK,
  protocol: EXIT.NETWORK,
  integrity: EXIT.INTEGRITY,
  local: EXIT.LOCAL,
  unsafe_name: EXIT.LOCAL,
  auth: EXIT.AUTH,
  tls: EXIT.TLS,
};

/** The exit code for anything thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof FtpError) return BY_KIND[err.kind] ?? EXIT.FAILED;
  return EXIT.FAILED;
}

/** A command typed wrongly (unknown name, missing argument). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The help text's table of exit codes. */
export const EXIT_CODE_HELP = [
  'Exit codes:',
  '  0  success',
  '  1  the server refused the command (bad path, forbidden, conflict, too large, server error)',
  '  2  usage error',
  '  3  connection refused by the server (busy, too many connections)',
  '  4  not found',
  '  5  network error (cannot connect, reset, closed, timed out, garbled reply)',
  '  6  integrity error (checksum mismatch)',
  '  7  local file error (or an unsafe name from the server)',
  '  8  authentication required or failed',
  '  9  TLS failed (certificate not trusted: see --ca; or the port does not speak TLS)',
].join('\n');
