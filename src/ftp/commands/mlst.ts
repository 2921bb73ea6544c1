import { mlstFeatureLine, mlsxLine } from '../listing-format';
import type { FtpCommand } from './command';
import { resolveTarget } from './targets';

/**
 * `MLST [path]` (RFC 3659 §7): one entry's facts on the control
 * connection: `250-`, the entry line after one space, `250 End`. The entry
 * is named by its full path.
 */
export const mlstCommand: FtpCommand = {
  verb: 'MLST',
  syntax: 'MLST [<SP> <pathname>]',
  permission: 'read',
  argument: 'optional',
  features: (_services, session) => [mlstFeatureLine(session.state.mlstFacts)],
  async run(context) {
    const target = resolveTarget(context, context.arg === '' ? '.' : context.arg);
    const entry = await context.storage.stat(target.parts);
    const line = mlsxLine({ ...entry, name: target.path }, context.session.state.mlstFacts, context.access);
    return { code: 250, text: [`Listing ${target.path}`, ` ${line}`, 'End'] };
  },
};
