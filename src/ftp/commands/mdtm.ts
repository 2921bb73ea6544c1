import { mdtmReplyText } from '../ftp-time';
import type { FtpCommand } from './command';
import { resolveTarget } from './targets';

/** `MDTM path` (RFC 3659 §3): the modification time, `YYYYMMDDHHMMSS` in UTC. */
export const mdtmCommand: FtpCommand = {
  verb: 'MDTM',
  syntax: 'MDTM <SP> <pathname>',
  permission: 'read',
  argument: 'required',
  features: () => ['MDTM'],
  async run(context) {
    const entry = await context.storage.stat(resolveTarget(context).parts);
    return { code: 213, text: mdtmReplyText(entry.mtime) };
  },
};
