import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/** `STRU F` (file structure, the only one here). */
export const struCommand: FtpCommand = {
  verb: 'STRU',
  syntax: 'STRU <SP> F',
  argument: 'required',
  run({ arg }) {
    const structure = arg.toUpperCase();
    if (structure === 'F') return { code: 200, text: 'Structure set to F' };
    if (structure === 'R' || structure === 'P') throw new FtpReplyError(504, `STRU ${structure} not implemented; use F`);
    throw new FtpReplyError(501, 'STRU takes F, R or P');
  },
};
