import { quotePath257 } from '../replies';
import type { FtpCommand } from './command';

/** `PWD` (and the old `XPWD`): 257 with the path quoted, `"` doubled (RFC 959 Appendix II). */
export const pwdCommand: FtpCommand = {
  verb: 'PWD',
  aliases: ['XPWD'],
  syntax: 'PWD',
  argument: 'none',
  run: ({ session }) => ({ code: 257, text: `${quotePath257(session.state.cwd)} is the current directory` }),
};
