import type { ServerLimits } from '../config/defaults';
import type { Log } from '../logging/log';
import type { Storage } from '../storage/storage';
import type { Clock } from '../util/clock';
import type { Authenticator } from './access';
import type { ServerObserver } from './observer';
import type { TlsCredentials } from './tls-listener';
import type { UploadHasher } from './upload-hasher';

/** IPs refused at the door (failed-login bans): their greeting is `429`. */
export interface BanList {
  isBanned(ip: string): boolean;
}

export interface FileServerOptions {
  /** Folder to serve; created if missing. Ignored when `storage` is given. */
  root: string;
  /** Address to listen on (default `0.0.0.0`). */
  host?: string;
  /** Port to listen on; 0 picks a free one (default 5002). */
  port?: number;
  log?: Log;
  limits?: Partial<ServerLimits>;
  clock?: Clock;
  storage?: Storage;
  /** Metrics and transfer-log hooks. */
  observer?: ServerObserver;
  /** Checks credentials; when it says `required`, commands need AUTH first. */
  authenticator?: Authenticator;
  /**
   * What sessions see before (or without) logging in; default the served
   * root. With accounts: the anonymous view, or one that refuses everything.
   */
  guestStorage?: Storage;
  /** Refuse connections from these IPs with a `429` greeting. */
  bans?: BanList;
  /** Serve TLS only (TLS 1.2+, modern ciphers) with this certificate and key. */
  tls?: TlsCredentials;
  /** Hashes large uploads on threads; default one sized to the machine (none on 2 cores). Closed with the server. */
  uploadHasher?: UploadHasher;
}
