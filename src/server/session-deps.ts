import type { ServerLimits } from '../config/defaults';
import type { Log } from '../logging/log';
import type { LogThrottle } from '../logging/throttle';
import type { Storage } from '../storage/storage';
import type { Clock } from '../util/clock';
import type { Authenticator, SessionInfo } from '../core/access';
import type { CommandRegistry } from './commands';
import type { ServerObserver } from '../core/observer';
import type { TransferService } from '../core/transfers';

/**
 * What a session needs from the server, passed in: one object per server,
 * shared by every session (nothing per connection).
 */
export interface SessionDeps {
  storage: Storage;
  /** The server's logger; the session logs through a child labelled with the client. */
  log: Log;
  limits: ServerLimits;
  clock: Clock;
  commands: CommandRegistry;
  /** Downloads and uploads, shared with every other front end. */
  transfers: TransferService;
  /** Keeps floods of identical log lines (out of descriptors) in check. */
  throttle: LogThrottle;
  /** The greeting, encoded once per server: the first frame on every connection. */
  greeting: Buffer;
  /** Checks credentials; absent when accounts are off. */
  authenticator?: Authenticator;
  /** Metrics and transfer-log hooks. */
  observer: ServerObserver;
  /** Called once when a session's socket has closed (the registry forgets it). */
  sessionClosed?(session: SessionInfo): void;
}
