import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/** `PBSZ 0` (RFC 4217 §8): TLS has no buffer size to agree on; any number is answered `PBSZ=0`. */
export const pbszCommand: FtpCommand = {
  verb: 'PBSZ',
  syntax: 'PBSZ <SP> 0',
  public: true,
  argument: 'required',
  features: ({ policy }) => (policy.tls ? ['PBSZ'] : []),
  run({ arg, session }) {
    if (!session.secure) throw new FtpReplyError(503, 'PBSZ needs a TLS control connection: send AUTH TLS first');
    if (!/^\d{1,10}$/.test(arg)) throw new FtpReplyError(501, 'PBSZ takes a decimal number (0 for TLS)');
    session.state.pbszSet = true;
    return { code: 200, text: 'PBSZ=0' };
  },
};
