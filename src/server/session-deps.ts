import type { ServerLimits } from '../config/defaults';
import type { Log } from '../logging/log';
import type { LogThrottle } from '../logging/throttle';
import type { Storage } from '../storage/storage';
import type { Clock } from '../util/clock';
import type { Authenticator } from './access';
import type { CommandRegistry } from './commands';
import type { ConnectionSession } from './connection-session';
import type { DigestCache } from './digest-cache';
import type { HashWorker } from './hash-worker';
import type { ServerObserver } from './observer';
import type { UploadHasher } from './upload-hasher';

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
  /** Digests of whole files already hashed, by file version. */
  digests: DigestCache;
  /** Keeps floods of identical log lines (out of descriptors) in check. */
  throttle: LogThrottle;
  /** Hashes large downloads on another thread. */
  hasher: HashWorker;
  /** Hashes large uploads on other threads, in parallel with their disk writes. */
  uploadHasher: UploadHasher;
  /** The greeting, encoded once per server: the first frame on every connection. */
  greeting: Buffer;
  /** Checks credentials; absent when accounts are off. */
  authenticator?: Authenticator;
  /** Metrics and transfer-log hooks. */
  observer: ServerObserver;
  /** Called once when a session's socket has closed (the registry forgets it). */
  sessionClosed?(session: ConnectionSession): void;
}
