import { BadRequestError } from '../../protocol/errors';
import { requireString } from '../../protocol/messages';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

/**
 * `AUTH username password`: log in. Public (allowed before login). The
 * authenticator does the checking, the delays and the bans; a failure
 * arrives here as a `401` error and the session answers it.
 *
 * Only the user name ever reaches a log line: `target()` returns it alone,
 * and no message built here contains the password.
 */
export const authCommand: CommandHandler = {
  name: 'AUTH',
  syntax: 'username password',
  public: true,
  description: 'Log in; later commands run as this user, in their home folder',
  target: (fields) => fieldForLog(fields, 'username'),
  async run({ fields, authenticator, session, log }) {
    if (!authenticator) throw new BadRequestError('This server has no accounts');
    const username = requireString(fields, 'username');
    const password = requireString(fields, 'password');
    const principal = await authenticator.login(username, password, session.ip);
    session.login(principal);
    log.info(`AUTH: Logged in as ${fieldForLog({ username: principal.name }, 'username')}`);
    return { code: 200, message: 'Logged in', username: principal.name };
  },
};
