import { UsageError } from '../../ui/exit-codes';
import type { CommandSpec } from '../command-spec';

/** `login [USER]`: log in on the open connection (asks for the password). */
export const login: CommandSpec = {
  name: 'login',
  aliases: ['user'],
  args: [{ name: 'USER', required: false, complete: 'none' }],
  flags: {},
  summary: 'log in as USER (asks for the password; later reconnections log in again)',
  oneShot: false,
  // What the user may see changes with who they are.
  mutates: true,
  async run(session, { args }) {
    const user = args[0] ?? session.userName;
    if (user === undefined) throw new UsageError('usage: login USER');
    await session.login(user);
    session.print(`logged in as ${user}`);
  },
};
