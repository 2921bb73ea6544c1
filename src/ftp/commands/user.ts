import { ANONYMOUS_USER } from '../../auth/accounts';
import { FtpReplyError } from '../error-replies';
import type { CommandContext, FtpCommand } from './command';

/** Names FTP clients use for a guest login (RFC 1635): `anonymous`, and `ftp` on many servers. */
const ANONYMOUS_NAMES = new Set([ANONYMOUS_USER, 'ftp']);

/**
 * The account name to check for a USER name: with anonymous access on,
 * `ftp` is the anonymous user too, as on most FTP servers. Without it,
 * `ftp` is an ordinary name.
 */
export function accountName(context: CommandContext, name: string): string {
  return isAnonymousLogin(context, name) ? ANONYMOUS_USER : name;
}

/** True when `name` logs in as the anonymous user (anonymous access is on). */
function isAnonymousLogin(context: CommandContext, name: string): boolean {
  const { authenticator } = context.services;
  return authenticator !== undefined && !authenticator.required && ANONYMOUS_NAMES.has(name.toLowerCase());
}

/**
 * With certificates configured, a login waits for TLS (RFC 4217 §4 leaves
 * this to the server's policy): a password must never cross the network in
 * cleartext unless the operator said so (`--ftp-allow-plain`).
 */
export function assertLoginAllowed({ session, services }: CommandContext): void {
  const { policy } = services;
  if (policy.tls && !policy.allowPlain && !session.secure) {
    throw new FtpReplyError(530, 'This server requires TLS for logins: send AUTH TLS first');
  }
}

/** `USER name`: remember the name and ask for the password. */
export const userCommand: FtpCommand = {
  verb: 'USER',
  syntax: 'USER <SP> <username>',
  public: true,
  argument: 'required',
  run(context) {
    const { arg, session } = context;
    if (session.loggedIn) throw new FtpReplyError(503, 'Already logged in');
    assertLoginAllowed(context);
    session.state.pendingUser = arg;
    return { code: 331, text: isAnonymousLogin(context, arg) ? 'Anonymous login: send any password' : 'Please specify the password' };
  },
};
