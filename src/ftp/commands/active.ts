import { checkActiveTarget, type AddressError, type DataAddress } from '../data-address';
import { FtpReplyError } from '../error-replies';
import type { CommandContext, CommandReply } from './command';

/**
 * PORT and EPRT after parsing: refused when active mode is off or after
 * EPSV ALL, and held to the bounce rule (RFC 2577 §3; ftp-srv's
 * CVE-2020-15152): only the control connection's own address, only ports
 * >= 1024. A refusal is logged as a WARNING by the dispatcher.
 */
export function useActiveTarget(context: CommandContext, parsed: DataAddress | AddressError): CommandReply {
  const { session, services, verb } = context;
  if (!services.policy.activeAllowed) throw new FtpReplyError(502, 'Active mode is off on this server: use PASV or EPSV');
  if (session.state.epsvAll) throw new FtpReplyError(503, 'EPSV ALL in effect: use EPSV');
  if ('error' in parsed) throw new FtpReplyError(parsed.error === 'syntax' ? 501 : 522, parsed.message);
  const check = checkActiveTarget(parsed, session.ip);
  if (!check.ok) {
    const why = check.reason === 'foreign_address' ? 'not your own address' : 'a port below 1024';
    throw new FtpReplyError(501, `${verb} refused: ${parsed.host}:${parsed.port} is ${why} (FTP bounce protection)`);
  }
  session.data.useActive(parsed);
  return { code: 200, text: `${verb} command successful; consider using EPSV` };
}
