import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/**
 * `REST offset` (RFC 3659 §5, STREAM mode): where the next RETR starts, or
 * where the next STOR writes from. Offsets are 64-bit in spirit: any whole
 * number up to 2^53 - 1, so files past 4 GiB resume. Refused in TYPE A,
 * where an offset would count converted bytes (see ascii.ts).
 */
export const restCommand: FtpCommand = {
  verb: 'REST',
  syntax: 'REST <SP> <offset>',
  argument: 'required',
  features: () => ['REST STREAM'],
  run({ arg, session }) {
    const offset = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
    if (!Number.isSafeInteger(offset)) throw new FtpReplyError(501, 'REST takes a byte offset (a whole number)');
    if (offset > 0 && session.state.type === 'A') throw new FtpReplyError(504, 'REST is not supported in ASCII mode: use TYPE I');
    session.state.restOffset = offset;
    return { code: 350, text: `Restarting at ${offset}; send RETR or STOR to start the transfer` };
  },
};
