/**
 * The services every listener of one server shares, built once: the
 * storage and what guests see, the accounts, the door (admission: bans,
 * rates and connection caps), transfers with their digests, the observer
 * (metrics, transfer log), the log throttle, the clock and the limits. The
 * native port and the FTP port are each a thin front end over one of these,
 * so a ban or a per-IP cap on one port holds on the other, and both write
 * the same transfer records.
 */
import { DEFAULT_LIMITS, type ServerLimits } from '../config/defaults';
import { silentLog, type Log } from '../logging/log';
import { LogThrottle } from '../logging/throttle';
import { LocalStorage } from '../storage/local-storage';
import type { Storage } from '../storage/storage';
import { systemClock, type Clock } from '../util/clock';
import type { Authenticator } from './access';
import { AdmissionControl, type BanList } from './admission';
import { connectionsWithinDescriptors, openFileLimit } from './descriptor-limit';
import { DigestCache } from './digest-cache';
import { HashWorker, type HashJobCounts } from './hash-worker';
import { safeObserver, type ServerObserver } from './observer';
import type { SharedLimits } from './shared-limits';
import { TransferService } from './transfers';
import { UploadHasher } from './upload-hasher';

/** What a {@link ServerCore} is made from; everything but a root or a storage has a default. */
export interface ServerCoreOptions {
  /** Folder to serve on the local disk; created if missing. Ignored when `storage` is given. */
  root?: string;
  /** The served files, of any backend. */
  storage?: Storage;
  /**
   * What sessions see before (or without) logging in; default the served
   * root. With accounts: the anonymous view, or one that refuses everything.
   */
  guestStorage?: Storage;
  /** Checks credentials; when it says `required`, commands need a login first. */
  authenticator?: Authenticator;
  /** Addresses refused at the door (failed-login bans). */
  bans?: BanList;
  log?: Log;
  clock?: Clock;
  limits?: Partial<ServerLimits>;
  /** Metrics and transfer-log hooks; contained, so a failing one never breaks a session. */
  observer?: ServerObserver;
  /** Hashes large uploads on other threads; default: threads only where cores are spare. */
  uploadHasher?: UploadHasher;
  /** Per-address limits and bans shared with the other nodes of a cluster (Redis). */
  sharedLimits?: SharedLimits;
}

/** See the module comment. Build with {@link ServerCore.create}; close after every listener on it. */
export class ServerCore {
  readonly transfers: TransferService;
  readonly admission: AdmissionControl<object>;
  /** Keeps floods of identical log lines (refusals, descriptors) in check, across listeners. */
  readonly throttle: LogThrottle;
  private readonly hasher = new HashWorker();
  private readonly uploadHasher: UploadHasher;

  private constructor(
    /** The served files. */
    readonly storage: Storage,
    /** What a session sees before logging in. */
    readonly guestStorage: Storage,
    readonly authenticator: Authenticator | undefined,
    readonly log: Log,
    readonly clock: Clock,
    readonly limits: ServerLimits,
    readonly observer: ServerObserver,
    bans: BanList | undefined,
    uploadHasher: UploadHasher | undefined,
    sharedLimits: SharedLimits | undefined,
  ) {
    this.throttle = new LogThrottle(clock);
    this.admission = new AdmissionControl(limits, clock, bans, sharedLimits);
    this.uploadHasher = uploadHasher ?? new UploadHasher();
    this.transfers = new TransferService({ digests: new DigestCache(), hasher: this.hasher, uploadHasher: this.uploadHasher, observer, clock, limits });
  }

  /**
   * Prepare the services: limits fitted to the open-file limit (libuv drops
   * connections silently once out of descriptors, so the cap comes first),
   * the storage opened and swept of uploads a killed process left.
   */
  static async create(options: ServerCoreOptions): Promise<ServerCore> {
    const log = options.log ?? silentLog;
    const clock = options.clock ?? systemClock;
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    const fdLimit = openFileLimit();
    if (fdLimit !== undefined && limits.maxConnections > connectionsWithinDescriptors(fdLimit)) {
      const fitting = connectionsWithinDescriptors(fdLimit);
      log.warn(
        `The open-file limit (${fdLimit}) leaves room for ${fitting} connections: --max-connections ${limits.maxConnections} lowered to ${fitting}. ` +
          'Raise it with `ulimit -n` or LimitNOFILE= in the service unit.',
      );
      limits.maxConnections = fitting;
    }
    let storage = options.storage;
    if (!storage) {
      if (options.root === undefined) throw new Error('A server needs a root folder or a storage');
      storage = await LocalStorage.create(options.root, { createRoot: true });
    }
    const stale = (await storage.removeStaleUploads?.()) ?? 0;
    if (stale > 0) log.info(`Removed ${stale} temporary upload file(s) left by an earlier run`);
    const observer = safeObserver(options.observer ?? {}, log, clock);
    return new ServerCore(storage, options.guestStorage ?? storage, options.authenticator, log, clock, limits, observer, options.bans, options.uploadHasher, options.sharedLimits);
  }

  /** What the shared hash worker has done: jobs started, completed, cancelled, shared, refused (read-only). */
  get hashJobs(): HashJobCounts {
    return this.hasher.counts;
  }

  /** Stop the hash worker and release the storage; after every listener on this core has stopped. */
  async close(): Promise<void> {
    await this.hasher.close();
    await this.uploadHasher.close();
    await this.storage.close?.();
  }
}
