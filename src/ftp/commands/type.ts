import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/**
 * `TYPE A` / `A N` (ASCII: line ends converted, see ascii.ts) and `TYPE I` /
 * `L 8` (binary). Other representations (EBCDIC, Telnet or ASA format
 * control, other byte sizes) are not implemented for that parameter: 504.
 */
export const typeCommand: FtpCommand = {
  verb: 'TYPE',
  syntax: 'TYPE <SP> A [N] | I | L 8',
  argument: 'required',
  run({ arg, session }) {
    const words = arg.toUpperCase().split(' ');
    const [code, param] = words;
    if (words.length > 2 || !code) throw new FtpReplyError(501, 'TYPE takes A, A N, I or L 8');
    if (code === 'A' && (param === undefined || param === 'N')) {
      session.state.type = 'A';
      return { code: 200, text: 'Switching to ASCII mode' };
    }
    if ((code === 'I' && param === undefined) || (code === 'L' && param === '8')) {
      session.state.type = 'I';
      return { code: 200, text: 'Switching to Binary mode' };
    }
    if (['A', 'E', 'I', 'L'].includes(code)) throw new FtpReplyError(504, `TYPE ${arg} not implemented; use A or I`);
    throw new FtpReplyError(501, 'TYPE takes A, A N, I or L 8');
  },
};
