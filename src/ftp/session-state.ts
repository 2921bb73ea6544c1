/**
 * One FTP session's settings, as the commands change them: where it is,
 * how bytes are sent, the login and rename under way, the TLS protection
 * of data connections. Plain fields: each command reads and sets the ones
 * it owns; the rules are in the commands, not here.
 */
import { DEFAULT_MLST_FACTS, type MlstFact } from './listing-format';
import { FTP_ROOT } from './ftp-paths';

/** TYPE I (binary, the default here) or TYPE A (ASCII, line ends converted). */
export type TransferType = 'A' | 'I';

/** PROT C (clear) or P (private: TLS) for data connections (RFC 4217). */
export type DataProtection = 'C' | 'P';

export class SessionState {
  /** The working directory: a clean absolute path inside the user's root. */
  cwd = FTP_ROOT;
  type: TransferType = 'I';
  /** REST's offset, used by the next RETR or STOR (0: none). */
  restOffset = 0;
  /** RNFR's source, waiting for RNTO. */
  renameFrom: string | undefined;
  /** USER's name, waiting for PASS. */
  pendingUser: string | undefined;
  /** The facts MLST and MLSD give (OPTS MLST). */
  mlstFacts: readonly MlstFact[] = DEFAULT_MLST_FACTS;
  /** After `EPSV ALL`, only EPSV may set up data connections (RFC 2428 §4). */
  epsvAll = false;
  /** PBSZ 0 was given (RFC 4217 §8: before PROT). */
  pbszSet = false;
  prot: DataProtection = 'C';
  /** Failed PASS on this connection, to close it after a few. */
  failedLogins = 0;
}
