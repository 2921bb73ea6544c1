import { extendedPassiveReplyText, NETWORK_PROTOCOLS_TEXT, parseEpsvArgument, parseIPv4 } from '../data-address';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { openPassivePort } from './passive';

/**
 * `EPSV [1|2|ALL]` (RFC 2428 §3): 229 with the port only; the client
 * connects to the address it reached the control connection on. `EPSV ALL`
 * makes every other way of setting up a data connection refused from then
 * on (§4). A family other than the control connection's is 522: the
 * passive port listens on the address the client already reaches.
 */
export const epsvCommand: FtpCommand = {
  verb: 'EPSV',
  syntax: 'EPSV [<SP> 1 | 2 | ALL]',
  argument: 'optional',
  features: () => ['EPSV'],
  async run(context) {
    const { arg, session } = context;
    const request = parseEpsvArgument(arg);
    if ('error' in request) throw new FtpReplyError(request.error === 'syntax' ? 501 : 522, request.message);
    if (request.kind === 'all') {
      session.state.epsvAll = true;
      return { code: 200, text: 'EPSV ALL ok' };
    }
    const family = parseIPv4(session.localIp) !== undefined ? 4 : 6;
    if (request.kind === 'family' && request.family !== family) {
      throw new FtpReplyError(522, `${NETWORK_PROTOCOLS_TEXT.replace('(1,2)', `(${family === 4 ? 1 : 2})`)}`);
    }
    const port = await openPassivePort(context);
    return { code: 229, text: extendedPassiveReplyText(port) };
  },
};
