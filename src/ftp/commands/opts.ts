import { FtpReplyError } from '../error-replies';
import { mlstOptsReplyText, parseMlstOptions } from '../listing-format';
import type { FtpCommand } from './command';
import { HASH_ALGORITHM } from './hash';

/**
 * `OPTS` (RFC 2389): `UTF8 ON` (RFC 2640; names are always UTF-8 here, so
 * it only says yes), `MLST fact;fact;` (RFC 3659 §7.9) and `HASH alg`
 * (draft-bryan-ftpext-hash: SHA-256 is the one algorithm).
 */
export const optsCommand: FtpCommand = {
  verb: 'OPTS',
  syntax: 'OPTS <SP> UTF8 ON | MLST <facts> | HASH [<algorithm>]',
  public: true,
  argument: 'required',
  features: () => ['UTF8'],
  run({ arg, session }) {
    const space = arg.indexOf(' ');
    const name = (space === -1 ? arg : arg.slice(0, space)).toUpperCase();
    const value = space === -1 ? '' : arg.slice(space + 1);
    if (name === 'UTF8' || name === 'UTF-8') {
      if (value.toUpperCase() === 'ON' || value === '') return { code: 200, text: 'Always in UTF8 mode' };
      throw new FtpReplyError(504, 'UTF8 cannot be turned off: names are always UTF-8');
    }
    if (name === 'MLST') {
      session.state.mlstFacts = parseMlstOptions(value);
      return { code: 200, text: mlstOptsReplyText(session.state.mlstFacts) };
    }
    if (name === 'HASH') {
      if (value === '' || value.toUpperCase() === HASH_ALGORITHM) return { code: 200, text: HASH_ALGORITHM };
      throw new FtpReplyError(504, `Unknown algorithm; this server offers ${HASH_ALGORITHM}`);
    }
    throw new FtpReplyError(501, 'Option not understood');
  },
};
