import { parseClientPath } from '../../storage/path-rules';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { nameForLog, resolveTarget } from './targets';

/**
 * `RNTO path`: finish the rename RNFR began. A file at the target is
 * replaced atomically, as on the native port (which needs `delete` as well
 * as `rename` with accounts on).
 */
export const rntoCommand: FtpCommand = {
  verb: 'RNTO',
  syntax: 'RNTO <SP> <pathname>',
  permission: 'rename',
  argument: 'required',
  logName: 'RENAME',
  async run(context) {
    const from = context.session.state.renameFrom;
    context.session.state.renameFrom = undefined;
    if (from === undefined) throw new FtpReplyError(503, 'Send RNFR first');
    const target = resolveTarget(context);
    await context.storage.rename(parseClientPath(from), target.parts, { replace: true });
    context.session.log.info(`RENAME: Renamed - ${nameForLog(from.slice(1))} -> ${nameForLog(target.path.slice(1))}`);
    return { code: 250, text: 'Rename successful' };
  },
};
