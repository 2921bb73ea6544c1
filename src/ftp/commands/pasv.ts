import { passiveAdvertisedAddress, passiveReplyText } from '../data-address';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { openPassivePort } from './passive';

/**
 * `PASV` (RFC 959): 227 with the address clients connect to:
 * `--pasv-address` (on EC2, the public IP the instance cannot see on its
 * interfaces), else the control connection's local address. A 227 can hold
 * only IPv4: on IPv6 without `--pasv-address`, EPSV it is.
 */
export const pasvCommand: FtpCommand = {
  verb: 'PASV',
  syntax: 'PASV',
  argument: 'none',
  async run(context) {
    const { session, services } = context;
    if (session.state.epsvAll) throw new FtpReplyError(503, 'EPSV ALL in effect: use EPSV');
    const address = passiveAdvertisedAddress(services.policy.pasvAddress, session.localIp);
    if (address === undefined) throw new FtpReplyError(425, 'PASV cannot name an IPv6 address: use EPSV');
    const port = await openPassivePort(context);
    return { code: 227, text: passiveReplyText(address, port) };
  },
};
