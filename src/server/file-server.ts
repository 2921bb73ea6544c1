import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, LISTEN_BACKLOG, PROTOCOL_VERSION, SERVER_NAME, type ServerLimits } from '../config/defaults';
import { silentLog, type Log } from '../logging/log';
import { LogThrottle, suppressedNote } from '../logging/throttle';
import { encodeFrame } from '../protocol/frame-encoder';
import type { GreetingMessage } from '../protocol/messages';
import { LocalStorage } from '../storage/local-storage';
import type { Storage } from '../storage/storage';
import { systemClock, type Clock } from '../util/clock';
import { commandsFor, type CommandRegistry } from './commands';
import { ConnectionSession, type SessionDeps } from './connection-session';
import type { FileServerOptions } from './file-server-options';
import { DigestCache } from './digest-cache';
import { connectionsWithinDescriptors, openFileLimit } from './descriptor-limit';
import { HashWorker } from './hash-worker';
import { RateLimiter } from './rate-limiter';
import { SessionRegistry } from './session-registry';
import { UploadHasher } from './upload-hasher';
import type { Authenticator } from './access';
import type { ConnectionResult, ServerObserver } from './observer';
import { createTlsListener } from './tls-listener';

export { TLS_CIPHERS, type TlsCredentials } from './tls-listener';
export type { BanList, FileServerOptions } from './file-server-options';

/** A refused socket gets this long to take its greeting before it is cut. */
const REFUSAL_LINGER_MS = 2_000;

/**
 * The native-protocol server: one `net.Server`, a session per connection,
 * a registry and a rate limiter in front of them.
 */
export class FileServer {
  readonly limits: ServerLimits;
  private readonly registry: SessionRegistry<ConnectionSession>;
  private readonly rateLimiter: RateLimiter;
  private readonly commands: CommandRegistry;
  private readonly digests = new DigestCache();
  private readonly hasher = new HashWorker();
  private readonly uploadHasher: UploadHasher;
  private readonly throttle: LogThrottle;
  private readonly server: net.Server;
  /** One dependencies object shared by every session (not one per connection). */
  private readonly sessionDeps: SessionDeps;
  private closing: Promise<void> | undefined;
  private emptied: (() => void) | undefined;

  private constructor(
    storage: Storage,
    private readonly log: Log,
    clock: Clock,
    limits: ServerLimits,
    private readonly observer: ServerObserver,
    authenticator: Authenticator | undefined,
    private readonly extras: Pick<FileServerOptions, 'guestStorage' | 'bans' | 'tls' | 'uploadHasher'> = {},
  ) {
    this.limits = limits;
    this.uploadHasher = extras.uploadHasher ?? new UploadHasher();
    this.commands = commandsFor({ accounts: authenticator !== undefined });
    this.registry = new SessionRegistry({
      maxConnections: limits.maxConnections,
      maxConnectionsPerIp: limits.maxConnectionsPerIp,
    });
    this.rateLimiter = new RateLimiter({ limit: limits.rateLimit, windowMs: limits.rateWindowMs, clock });
    const greeting: GreetingMessage = {
      type: 'connection',
      code: 200,
      message: 'Connection established',
      protocol: PROTOCOL_VERSION,
      server: SERVER_NAME,
      features: this.commands.names,
      auth_required: authenticator?.required ?? false,
    };
    this.throttle = new LogThrottle(clock);
    this.sessionDeps = {
      storage: extras.guestStorage ?? storage,
      log,
      limits,
      clock,
      commands: this.commands,
      digests: this.digests,
      hasher: this.hasher,
      uploadHasher: this.uploadHasher,
      throttle: this.throttle,
      greeting: encodeFrame(greeting),
      observer,
      authenticator,
      sessionClosed: (session) => this.forget(session),
    };
    const accept = (socket: net.Socket) => this.accept(socket);
    this.server = extras.tls
      ? createTlsListener(extras.tls, { handshakeTimeoutMs: limits.frameTimeoutMs, log, throttle: this.throttle }, accept)
      : net.createServer({ noDelay: true }, accept);
    this.server.on('error', (err) => this.onAcceptError(err));
  }

  /** Prepare the root, then listen. Resolves once the port is open. */
  static async start(options: FileServerOptions): Promise<FileServer> {
    const log = options.log ?? silentLog;
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
    const storage = options.storage ?? (await LocalStorage.create(options.root, { createRoot: true }));
    const stale = await storage.removeStaleUploads();
    if (stale > 0) log.info(`Removed ${stale} temporary upload file(s) left by an earlier run`);
    const server = new FileServer(
      storage,
      log,
      options.clock ?? systemClock,
      limits,
      options.observer ?? {},
      options.authenticator,
      { guestStorage: options.guestStorage, bans: options.bans, tls: options.tls, uploadHasher: options.uploadHasher },
    );
    await server.listen(options.host ?? '0.0.0.0', options.port ?? 5002);
    return server;
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return this.address.port;
  }

  /** Sessions open right now. */
  get activeSessions(): number {
    return this.registry.size;
  }

  /** True once a shutdown has begun. */
  get draining(): boolean {
    return this.closing !== undefined;
  }

  private listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** True when the port speaks TLS. */
  get secure(): boolean {
    return this.extras.tls !== undefined;
  }

  private accept(socket: net.Socket): void {
    const ip = normaliseIp(socket.remoteAddress);
    if (this.closing) {
      this.observer.connection?.('draining');
      socket.destroy();
      return;
    }
    if (this.extras.bans?.isBanned(ip)) {
      this.refuse(socket, 429, 'Too many failed logins from your address; try again later', 'banned');
      return;
    }
    if (!this.rateLimiter.tryAcquire(ip)) {
      this.refuse(socket, 429, 'Too many new connections from your address; try again later', 'rate_limited');
      return;
    }
    const session = new ConnectionSession(socket, this.sessionDeps);
    const admission = this.registry.admit(ip, session);
    if (!admission.admitted) {
      this.refuse(socket, admission.code, admission.message, admission.reason);
      return;
    }
    session.admitted = true;
    this.observer.connection?.('accepted');
    this.log.info(`New connection from ${session.remote}. Active connections: ${this.registry.size}`);
    session.run().catch((err) => {
      // run() handles its own errors; this is the last guard for the process.
      this.log.error(`Session ${session.remote} crashed`, err);
      session.abort('internal error');
    });
  }

  /** A session's socket closed: free its slot and say so. */
  private forget(session: ConnectionSession): void {
    if (!session.admitted) return;
    session.admitted = false;
    this.registry.release(normaliseIp(session.socket.remoteAddress), session);
    this.observer.sessionClosed?.();
    this.log.info(`Connection closed for ${session.remote} (${session.endReason}). Active connections: ${this.registry.size}`);
    if (this.registry.size === 0) this.emptied?.();
  }

  /**
   * Accept failures arrive here. Out of descriptors, libuv accepts and drops
   * the pending connection itself (so the kernel queue does not spin us);
   * we say so once per interval and keep listening: accepting resumes by
   * itself as soon as descriptors free up.
   */
  private onAcceptError(err: NodeJS.ErrnoException): void {
    const key = err.code === 'EMFILE' || err.code === 'ENFILE' ? 'descriptors' : `accept ${err.code}`;
    const suppressed = this.throttle.admit(key);
    if (suppressed === undefined) return;
    if (key === 'descriptors') {
      this.log.error(`Out of file descriptors (${err.code}): refusing new connections until some close${suppressedNote(suppressed)}`);
    } else {
      this.log.error(`Accepting a connection failed${suppressedNote(suppressed)}`, err);
    }
  }

  /** Send a refusal greeting and close without waiting on the client. */
  private refuse(socket: net.Socket, code: number, message: string, reason: ConnectionResult): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.observer.connection?.(reason);
    const suppressed = this.throttle.admit(`refused ${normaliseIp(socket.remoteAddress)} ${code}`);
    if (suppressed !== undefined) {
      this.log.warn(`Refused connection from ${remote}: ${message} (${code})${suppressedNote(suppressed)}`);
    }
    socket.on('error', () => {});
    const cut = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
    socket.end(encodeFrame({ type: 'connection', code, message }), () => socket.destroy());
  }

  /**
   * Stop accepting, let commands in flight finish for up to `graceMs`, then
   * cut what is left. Safe to call more than once.
   */
  close(graceMs = this.limits.shutdownGraceMs): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  /** Cut every connection now, transfers included (a second Ctrl-C). */
  terminate(): void {
    for (const session of this.registry.values()) session.abort('server terminated');
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.log.info(`Server shutting down... (${this.registry.size} active connections)`);
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.registry.size > 0) {
      const empty = new Promise<void>((resolve) => {
        this.emptied = resolve;
      });
      for (const session of this.registry.values()) session.shutdown();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const outcome = await Promise.race([empty, graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.log.warn(`Grace period of ${graceMs / 1000} s over; closing ${this.registry.size} connection(s)`);
        this.terminate();
      }
    }
    await stopped;
    await this.hasher.close();
    await this.uploadHasher.close();
    this.log.info('Server stopped');
  }
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client for the limits. */
export function normaliseIp(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
