import { StorageError } from '../../storage/errors';
import { isListableName, listLine, splitListArguments } from '../listing-format';
import type { CommandContext, CommandReply, FtpCommand } from './command';
import { listEntries } from './listing';

/** `STAT` with no argument and no transfer: the session's status (211). */
function sessionStatus({ session, services }: CommandContext): CommandReply {
  const { policy, limits } = services;
  const user = session.principal?.name;
  return {
    code: 211,
    text: [
      'FTP server status:',
      `Connected from ${session.ip}`,
      user !== undefined ? `Logged in as ${user}` : 'Logged in (no accounts)',
      `TYPE: ${session.state.type === 'A' ? 'ASCII' : 'BINARY'}; MODE: STREAM; STRUCTURE: FILE`,
      `Working directory: ${session.state.cwd}`,
      `Control connection: ${session.secure ? 'TLS' : 'cleartext'}; data connections: ${session.state.prot === 'P' && policy.tls ? 'TLS' : 'cleartext'}`,
      `Idle timeout: ${limits.idleTimeoutMs / 1000} s`,
      'End of status',
    ],
  };
}

/**
 * `STAT`: during a transfer, how far it got (213); with a path, its LIST
 * lines over the control connection (213, RFC 959 §4.1.3); alone, the
 * session's status (211).
 */
export const statCommand: FtpCommand = {
  verb: 'STAT',
  syntax: 'STAT [<SP> <pathname>]',
  argument: 'optional',
  duringTransfer: true,
  async run(context) {
    const { session, arg } = context;
    const transfer = session.transfer;
    if (transfer) return { code: 213, text: `Transferring: ${transfer.what}, ${transfer.bytes} bytes so far` };
    if (arg === '') return sessionStatus(context);
    if (!context.access.has('read')) throw new StorageError('permission_denied', 'Permission denied: read is not allowed for this user');
    const listed = await listEntries(context, splitListArguments(arg).path);
    const now = new Date(context.services.clock.now());
    const lines = listed.entries.filter((entry) => isListableName(entry.name)).map((entry) => listLine(entry, now, context.access));
    return { code: 213, text: [`Status of ${listed.target.path}:`, ...lines, 'End of status'] };
  },
};
