/**
 * What can go wrong when logging in, in the auth layer's own terms. Each
 * front end renders a kind its own way (the native port's 401, FTP's 530 or
 * 421) in its one table.
 */

export type AuthErrorKind =
  /** A command that needs a login came before one. */
  | 'auth_required'
  /** Wrong user name or password (the two are never told apart). */
  | 'login_failed'
  /** The address is banned for failed logins. */
  | 'banned'
  /** Too many logins from this address are being checked already. */
  | 'busy'
  /** The account is fine but cannot be served now (its home is unusable); the log says why. */
  | 'unavailable';

/** Every kind, for tables that must prove they are complete. */
export const AUTH_ERROR_KINDS: readonly AuthErrorKind[] = ['auth_required', 'login_failed', 'banned', 'busy', 'unavailable'];

/** A login failure; `message` is meant for the client and never says which part was wrong. */
export class AuthError extends Error {
  constructor(
    readonly kind: AuthErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}
