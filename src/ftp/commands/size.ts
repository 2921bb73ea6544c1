import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { fileTarget, statFile } from './targets';

/**
 * `SIZE path` (RFC 3659 §4): a file's size in bytes. Refused in TYPE A,
 * where the size would be that of the converted bytes (see ascii.ts).
 */
export const sizeCommand: FtpCommand = {
  verb: 'SIZE',
  syntax: 'SIZE <SP> <pathname>',
  permission: 'read',
  argument: 'required',
  features: () => ['SIZE'],
  async run(context) {
    if (context.session.state.type === 'A') throw new FtpReplyError(550, 'SIZE not allowed in ASCII mode: use TYPE I');
    const entry = await statFile(context, fileTarget(context));
    return { code: 213, text: String(entry.size) };
  },
};
