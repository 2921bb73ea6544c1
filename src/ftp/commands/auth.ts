import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';

/** Mechanism names clients send for TLS (RFC 4217 §4; `SSL` and `TLS-C` from its drafts). */
const TLS_MECHANISMS = new Set(['TLS', 'TLS-C', 'SSL', 'TLS-P']);

/**
 * `AUTH TLS` (RFC 4217 §4): 234, then the control connection speaks TLS.
 * Offered when the listener has certificates; on the implicit port the
 * connection already does.
 */
export const authCommand: FtpCommand = {
  verb: 'AUTH',
  syntax: 'AUTH <SP> TLS',
  public: true,
  argument: 'required',
  features: ({ policy }) => (policy.tls && !policy.implicitTls ? ['AUTH TLS'] : []),
  run({ arg, session, services }) {
    if (!services.policy.tls) throw new FtpReplyError(502, 'TLS is not configured on this server');
    if (session.secure) throw new FtpReplyError(503, 'The control connection already uses TLS');
    if (!TLS_MECHANISMS.has(arg.toUpperCase())) throw new FtpReplyError(504, 'Unknown security mechanism; use AUTH TLS');
    if (session.loggedIn) throw new FtpReplyError(503, 'AUTH TLS must come before the login');
    session.startTlsAfterReply();
    return { code: 234, text: 'AUTH TLS successful; start the handshake' };
  },
};
