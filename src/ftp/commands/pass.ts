import { AuthError } from '../../auth/errors';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { nameForLog } from './targets';
import { accountName, assertLoginAllowed } from './user';

/** Failed passwords one control connection may try before it is closed (the address's own delays and bans come on top). */
export const MAX_FAILED_LOGINS_PER_CONNECTION = 3;

/**
 * `PASS password`: log in. Without accounts any name and password log in
 * with the access the native port gives a client that never logs in. With
 * accounts, the authenticator checks them, with the native port's delays,
 * bans and homes; its refusals are answered from the one table (530, or
 * 421 and the close for a ban).
 */
export const passCommand: FtpCommand = {
  verb: 'PASS',
  syntax: 'PASS <SP> <password>',
  public: true,
  argument: 'optional',
  async run(context) {
    const { arg, session, services } = context;
    if (session.loggedIn) throw new FtpReplyError(503, 'Already logged in');
    const user = session.state.pendingUser;
    if (user === undefined) throw new FtpReplyError(503, 'Send USER first');
    assertLoginAllowed(context);
    session.state.pendingUser = undefined;
    const { authenticator } = services;
    if (!authenticator) {
      session.login(undefined);
      session.log.info(`Logged in as ${nameForLog(user)} (no accounts on this server)`);
      return { code: 230, text: 'Login successful' };
    }
    try {
      const principal = await authenticator.login(accountName(context, user), arg, session.ip);
      session.login(principal);
      session.log.info(`Logged in as ${nameForLog(principal.name)}`);
      return { code: 230, text: 'Login successful' };
    } catch (err) {
      if (err instanceof AuthError && err.kind === 'login_failed') {
        session.state.failedLogins += 1;
        if (session.state.failedLogins >= MAX_FAILED_LOGINS_PER_CONNECTION) {
          throw new FtpReplyError(530, 'Login incorrect; too many failures, closing the connection', true);
        }
      }
      throw err;
    }
  },
};
