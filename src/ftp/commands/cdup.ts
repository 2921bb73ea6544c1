import { parentPath } from '../ftp-paths';
import type { FtpCommand } from './command';
import { changeTo } from './cwd';

/** `CDUP` (and `XCUP`): the parent; the root's parent is the root. */
export const cdupCommand: FtpCommand = {
  verb: 'CDUP',
  aliases: ['XCUP'],
  syntax: 'CDUP',
  argument: 'none',
  run: (context) => changeTo(context, parentPath(context.session.state.cwd)),
};
