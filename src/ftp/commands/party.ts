import type { TransferParty } from '../../core/transfers';
import type { CommandContext } from './command';

/** The labels of an FTP transfer: who, from where, and the session's log (for the result line). */
export function ftpParty({ session }: CommandContext): TransferParty {
  return { remote: session.remote, user: session.principal?.name, protocol: 'ftp', log: session.log };
}

/** The name transfer records and log lines show: the path under the user's root, without the leading `/`, as the native port's clients name files. */
export function recordName(path: string): string {
  return path.slice(1);
}

/** Take REST's offset: it applies to this transfer only. */
export function takeRestOffset({ session }: CommandContext): number {
  const offset = session.state.restOffset;
  session.state.restOffset = 0;
  return offset;
}
