import type { FtpCommand } from './command';
import { resolveTarget } from './targets';

/** `RNFR path`: the source of a rename; it must exist. RNTO must come next. */
export const rnfrCommand: FtpCommand = {
  verb: 'RNFR',
  syntax: 'RNFR <SP> <pathname>',
  permission: 'rename',
  argument: 'required',
  logName: 'RENAME',
  async run(context) {
    const target = resolveTarget(context);
    await context.storage.stat(target.parts);
    context.session.state.renameFrom = target.path;
    return { code: 350, text: 'Ready for RNTO' };
  },
};
