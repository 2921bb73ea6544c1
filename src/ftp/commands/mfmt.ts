import { StorageError } from '../../storage/errors';
import { FtpReplyError } from '../error-replies';
import { mfmtReplyText, parseMfmtArgument } from '../ftp-time';
import type { FtpCommand } from './command';
import { fileTarget, statFile } from './targets';

/**
 * `MFMT time path` (draft-somers-ftp-mfxx): set a file's modification
 * time, as sync tools do after an upload. Offered (in FEAT) only where the
 * storage can set times.
 */
export const mfmtCommand: FtpCommand = {
  verb: 'MFMT',
  syntax: 'MFMT <SP> YYYYMMDDHHMMSS[.sss] <SP> <pathname>',
  permission: 'write',
  argument: 'required',
  features: ({ capabilities }) => (capabilities.settableMtime ? ['MFMT'] : []),
  async run(context) {
    const parsed = parseMfmtArgument(context.arg);
    if ('error' in parsed) throw new FtpReplyError(501, parsed.error);
    const target = fileTarget({ ...context, arg: parsed.path });
    await statFile(context, target);
    const { storage } = context;
    if (!storage.capabilities.settableMtime || !storage.setModificationTime) {
      throw new StorageError('not_supported', 'Setting modification times is not supported by this storage');
    }
    await storage.setModificationTime(target.parts, parsed.time);
    return { code: 213, text: mfmtReplyText(parsed.time, parsed.path) };
  },
};
