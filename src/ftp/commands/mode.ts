import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/** `MODE S` (stream, the only mode here: RFC 959's block and compressed modes are not used by any client we know). */
export const modeCommand: FtpCommand = {
  verb: 'MODE',
  syntax: 'MODE <SP> S',
  argument: 'required',
  run({ arg }) {
    const mode = arg.toUpperCase();
    if (mode === 'S') return { code: 200, text: 'Mode set to S' };
    if (mode === 'B' || mode === 'C') throw new FtpReplyError(504, `MODE ${mode} not implemented; use S`);
    throw new FtpReplyError(501, 'MODE takes S, B or C');
  },
};
