import type { FtpCommand } from './command';
import { fileTarget, nameForLog } from './targets';

/** `DELE path`: delete a file (a symlink itself, never its target). */
export const deleCommand: FtpCommand = {
  verb: 'DELE',
  syntax: 'DELE <SP> <pathname>',
  permission: 'delete',
  argument: 'required',
  logName: 'DELETE',
  async run(context) {
    const target = fileTarget(context);
    await context.storage.deleteFile(target.parts);
    context.session.log.info(`DELETE: Deleted file - ${nameForLog(target.path.slice(1))}`);
    return { code: 250, text: 'Delete operation successful' };
  },
};
