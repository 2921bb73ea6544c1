import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/**
 * `PROT P|C` (RFC 4217 §9): whether data connections use TLS. `C` is
 * accepted; where TLS is required, the transfer itself is then refused
 * (521), so the refusal names the transfer that cannot happen. `S` and `E`
 * mean nothing with TLS: 536.
 */
export const protCommand: FtpCommand = {
  verb: 'PROT',
  syntax: 'PROT <SP> C | P',
  public: true,
  argument: 'required',
  features: ({ policy }) => (policy.tls ? ['PROT'] : []),
  run({ arg, session }) {
    if (!session.secure) throw new FtpReplyError(503, 'PROT needs a TLS control connection: send AUTH TLS first');
    if (!session.state.pbszSet) throw new FtpReplyError(503, 'Send PBSZ 0 first');
    const level = arg.toUpperCase();
    if (level === 'P' || level === 'C') {
      session.state.prot = level;
      return { code: 200, text: level === 'P' ? 'Data connections will use TLS' : 'Data connections will be in cleartext' };
    }
    if (level === 'S' || level === 'E') throw new FtpReplyError(536, `PROT ${level} is not supported with TLS; use P`);
    throw new FtpReplyError(504, 'PROT takes C or P');
  },
};
