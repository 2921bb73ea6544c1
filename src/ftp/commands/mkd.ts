import { quotePath257 } from '../replies';
import type { FtpCommand } from './command';
import { nameForLog, resolveTarget } from './targets';

/** `MKD path` (and `XMKD`): 257 with the new folder's full path, quoted (RFC 959 Appendix II). */
export const mkdCommand: FtpCommand = {
  verb: 'MKD',
  aliases: ['XMKD'],
  syntax: 'MKD <SP> <pathname>',
  permission: 'mkdir',
  argument: 'required',
  logName: 'MKDIR',
  async run(context) {
    const target = resolveTarget(context);
    await context.storage.makeDirectory(target.parts);
    context.session.log.info(`MKDIR: Created folder - ${nameForLog(target.path.slice(1))}`);
    return { code: 257, text: `${quotePath257(target.path)} created` };
  },
};
