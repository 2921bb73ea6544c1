/**
 * What an FTP command is (a small module of data and one function) and
 * what it may use. The dispatcher reads the flags declared here: login,
 * permission, whether the command takes an argument, whether it may run
 * while a data transfer is under way; FEAT and HELP are built from the
 * same declarations, so they list exactly what the commands do.
 */
import type { ServerLimits } from '../../config/defaults';
import type { Authenticator, Permission, Principal } from '../../core/access';
import type { ProxySettings } from '../../core/intake';
import type { ServerObserver } from '../../core/observer';
import type { TransferService } from '../../core/transfers';
import type { Log } from '../../logging/log';
import type { LogThrottle } from '../../logging/throttle';
import type { Storage, StorageCapabilities } from '../../storage/storage';
import type { Clock } from '../../util/clock';
import type tls from 'node:tls';
import type { DataChannel } from '../data-channel';
import type { ListingAccess } from '../listing-format';
import type { PassivePorts } from '../passive-ports';
import type { SessionState } from '../session-state';

export type { FtpReply } from '../error-replies';

/**
 * A command's final reply: a code and its text (one string, or one per
 * line for a multi-line reply), or bytes already formatted by `replies.ts`
 * (FEAT, HELP).
 */
export type CommandReply = { code: number; text: string | readonly string[] } | { code: number; formatted: string };

/** How the FTP port is set up: TLS, active mode, the passive address. */
export interface FtpPolicy {
  /** The listener's TLS context, when certificates are configured. */
  readonly tls: tls.SecureContext | undefined;
  /** TLS from the first byte (the implicit FTPS port). */
  readonly implicitTls: boolean;
  /** With TLS configured: allow logins and data connections in cleartext anyway. */
  readonly allowPlain: boolean;
  /** PORT/EPRT allowed (to the client's own address and ports >= 1024 only). */
  readonly activeAllowed: boolean;
  /** The IPv4 address advertised in 227 replies (`--pasv-address`). */
  readonly pasvAddress: string | undefined;
  /**
   * Behind a load balancer (`--proxy-protocol`): passive data connections
   * arrive through it too and carry a PROXY header naming their client.
   */
  readonly proxy?: ProxySettings;
}

/** Everything one FTP listener's sessions share. */
export interface FtpServices {
  readonly transfers: TransferService;
  readonly authenticator: Authenticator | undefined;
  /** What a session logged in without accounts works on. */
  readonly guestStorage: Storage;
  readonly capabilities: StorageCapabilities;
  readonly clock: Clock;
  readonly limits: ServerLimits;
  /** The server's main log (`[main]`). */
  readonly log: Log;
  readonly throttle: LogThrottle;
  readonly observer: ServerObserver;
  readonly policy: FtpPolicy;
  readonly ports: PassivePorts;
  readonly commands: CommandTable;
}

/** A data transfer under way, as ABOR, STAT and QUIT see it. */
export interface ActiveTransfer {
  /** `RETR a.txt`, for STAT. */
  readonly what: string;
  /** Payload bytes moved so far. */
  readonly bytes: number;
  /** Stop it: its command answers 426 with `reason`. */
  abort(reason: string): void;
}

/** The session as a command sees it. */
export interface FtpSessionApi {
  /** `IP:PORT` of the client. */
  readonly remote: string;
  /** The client's IP, canonical (`::ffff:` stripped). */
  readonly ip: string;
  /** This session's log (`[FTP-IP:PORT]`). */
  readonly log: Log;
  /** Settings and the login under way, changed by the commands. */
  readonly state: SessionState;
  /** True once USER/PASS succeeded. */
  readonly loggedIn: boolean;
  /** Who is logged in, when accounts are on. */
  readonly principal: Principal | undefined;
  /** The control connection is encrypted. */
  readonly secure: boolean;
  /** The control connection's local IP, canonical. */
  readonly localIp: string;
  readonly data: DataChannel;
  /** The transfer under way, if any. */
  readonly transfer: ActiveTransfer | undefined;
  /** Record a login: `undefined` is a login without accounts (the guest view). */
  login(principal: Principal | undefined): void;
  /** Send a reply now, before the command's final one (150, the 234 before TLS). */
  reply(code: number, text: string | readonly string[]): void;
  /** Close the connection once the final reply is out (QUIT). */
  endAfterReply(reason: string): void;
  /**
   * Turn the control connection into TLS right after this command's final
   * reply (AUTH's 234). Plaintext the client sent after the AUTH line is
   * dropped unread: it was sent before the 234 and must not run as if it
   * came over TLS.
   */
  startTlsAfterReply(): void;
  /**
   * A transfer's data phase began: from now until its command has answered,
   * ABOR, STAT and QUIT are read and run at once.
   */
  beginTransfer(transfer: ActiveTransfer): void;
  /** Resolves once the transfer command under way (if any) has sent its final reply. */
  afterTransfer(): Promise<void>;
  /** Bytes moved: the session is not idle. */
  touch(): void;
}

/** What a running command gets. */
export interface CommandContext {
  /** The verb as received, upper-cased (an alias such as XPWD included). */
  readonly verb: string;
  /** The rest of the line after the first space, exactly as sent. */
  readonly arg: string;
  readonly session: FtpSessionApi;
  readonly services: FtpServices;
  /** The files this session works on: the user's home, or the guest view. */
  readonly storage: Storage;
  /** What the session's user may do, for listings' modes and `perm` facts. */
  readonly access: ListingAccess;
}

/** One FTP command (and its aliases), as data plus one function. */
export interface FtpCommand {
  /** Upper-case verb. */
  readonly verb: string;
  /** Other verbs for the same command (XPWD for PWD...). */
  readonly aliases?: readonly string[];
  /** For `HELP verb`: `RETR <SP> <pathname>`. */
  readonly syntax: string;
  /** Allowed before login. */
  readonly public?: boolean;
  /** What a logged-in user needs for it (checked before it runs; 550 without). */
  readonly permission?: Permission;
  /** `none`: an argument is a syntax error; `required`: its absence is. */
  readonly argument: 'none' | 'required' | 'optional';
  /**
   * Run at once while a data transfer is under way (ABOR, STAT, QUIT);
   * every other command waits for the transfer's final reply.
   */
  readonly duringTransfer?: boolean;
  /**
   * The word its log lines start with when it has a native twin, so the
   * log recipes count both ports: RETR logs as GET, STOR as PUT...
   */
  readonly logName?: string;
  /** FEAT lines this command brings (none when it is plain RFC 959). */
  features?(services: FtpServices, session: FtpSessionApi): string[];
  run(context: CommandContext): Promise<CommandReply> | CommandReply;
}

/** The commands of one listener, by verb. */
export interface CommandTable {
  get(verb: string): FtpCommand | undefined;
  /** Every command, in declaration order. */
  readonly all: readonly FtpCommand[];
  /** Every verb, aliases included. */
  readonly verbs: readonly string[];
}
