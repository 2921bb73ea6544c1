import type { FtpCommand } from './command';
import { nameForLog, resolveTarget } from './targets';

/** `RMD path` (and `XRMD`): remove an empty folder (never the root: 550). */
export const rmdCommand: FtpCommand = {
  verb: 'RMD',
  aliases: ['XRMD'],
  syntax: 'RMD <SP> <pathname>',
  permission: 'delete',
  argument: 'required',
  logName: 'RMDIR',
  async run(context) {
    const target = resolveTarget(context);
    await context.storage.removeDirectory(target.parts);
    context.session.log.info(`RMDIR: Removed folder - ${nameForLog(target.path.slice(1))}`);
    return { code: 250, text: 'Remove directory operation successful' };
  },
};
