import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_VERSION, SERVER_NAME, type ServerLimits } from '../config/defaults';
import type { SessionInfo } from '../core/access';
import type { HashJobCounts } from '../core/hash-worker';
import type { Refusal } from '../core/admission';
import { Door, type DoorConnection, type Knock } from '../core/door';
import type { Peer } from '../core/intake';
import type { Listener } from '../core/listener';
import { ServerCore } from '../core/server-core';
import type { Log } from '../logging/log';
import { suppressedNote } from '../logging/throttle';
import { encodeFrame } from '../protocol/frame-encoder';
import type { GreetingMessage } from '../protocol/messages';
import { commandsFor } from './commands';
import { ConnectionSession, type SessionDeps } from './connection-session';
import type { FileServerOptions } from './file-server-options';
import { refusalCode } from './replies';
import { TlsAcceptor } from '../core/tls-acceptor';

export { TLS_CIPHERS, type TlsCredentials } from '../core/tls-acceptor';
export type { FileServerOptions } from './file-server-options';
export type { BanList } from '../core/admission';
export { normaliseIp } from '../util/address-key';

type Connection = DoorConnection<ConnectionSession>;

/**
 * The native-protocol server: one door (src/core/door.ts) in front of a
 * shared {@link ServerCore}: admission on the raw connection (before any
 * TLS handshake), then a session per admitted connection.
 */
export class FileServer implements Listener {
  readonly limits: ServerLimits;
  private readonly connections = new WeakMap<SessionInfo, Connection>();
  private readonly door: Door<ConnectionSession>;
  private readonly log: Log;
  /** One dependencies object shared by every session (not one per connection). */
  private readonly sessionDeps: SessionDeps;
  private readonly secureWith: TlsAcceptor | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly core: ServerCore,
    /** Whether this server made its core (and so closes it when it stops). */
    private readonly ownsCore: boolean,
    extras: Pick<FileServerOptions, 'tls' | 'proxy'> = {},
  ) {
    const { limits, authenticator, log, clock } = core;
    this.limits = limits;
    this.log = log;
    const commands = commandsFor({ accounts: authenticator !== undefined });
    const greeting: GreetingMessage = {
      type: 'connection',
      code: 200,
      message: 'Connection established',
      protocol: PROTOCOL_VERSION,
      server: SERVER_NAME,
      features: commands.names,
      auth_required: authenticator?.required ?? false,
    };
    this.sessionDeps = {
      storage: core.guestStorage,
      log,
      limits,
      clock,
      commands,
      transfers: core.transfers,
      throttle: core.throttle,
      greeting: encodeFrame(greeting),
      observer: core.observer,
      authenticator,
      sessionClosed: (session) => this.forget(session),
    };
    // TLS or not, the listener is plain TCP: admission runs on the raw
    // connection, and only an admitted one gets a handshake.
    this.secureWith = extras.tls && new TlsAcceptor(extras.tls, { handshakeTimeoutMs: limits.frameTimeoutMs, clock, log, throttle: core.throttle });
    this.door = new Door<ConnectionSession>(
      core,
      { protocol: 'native', tls: this.secureWith, proxy: extras.proxy },
      {
        refuse: (raw, knock, refusal) => this.refuse(raw, knock, refusal),
        start: (conn, socket, peer) => this.start(conn, socket, peer),
        acceptFailed: (err) => this.onAcceptError(err),
      },
    );
  }

  /**
   * Listen on the native port. With `core`, it serves that core's files
   * and shares its door with the core's other listeners; otherwise it makes
   * its own core from the options (and closes it when it stops).
   */
  static async start(options: FileServerOptions): Promise<FileServer> {
    const core = options.core ?? (await ServerCore.create(options));
    const server = new FileServer(core, options.core === undefined, { tls: options.tls, proxy: options.proxy });
    try {
      await server.door.listen(options.host ?? '0.0.0.0', options.port ?? 5002);
    } catch (err) {
      if (options.core === undefined) await core.close();
      throw err;
    }
    return server;
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo {
    return this.door.address;
  }

  get port(): number {
    return this.address.port;
  }

  /** Sessions open right now (connections past admission, and past their TLS handshake). */
  get activeSessions(): number {
    return this.door.activeSessions;
  }

  /** Connections holding a place right now: sessions and TLS handshakes under way. */
  get openConnections(): number {
    return this.door.open.size;
  }

  /** Answer bytes each open session holds unsent, its client not having read them (read-only). */
  get unsentBytesPerSession(): number[] {
    return [...this.door.open].flatMap((conn) => (conn.session ? [conn.session.unsentBytes] : []));
  }

  /** What the shared hash worker has done: jobs started, completed, cancelled, shared, refused (read-only). */
  get hashJobs(): HashJobCounts {
    return this.core.hashJobs;
  }

  /** True once a shutdown has begun. */
  get draining(): boolean {
    return this.door.draining;
  }

  /** True when the port speaks TLS. */
  get secure(): boolean {
    return this.secureWith !== undefined;
  }

  /** An admitted connection is ready for the protocol: greet it and serve it. */
  private start(conn: Connection, socket: net.Socket, peer: Peer | undefined): void {
    const session = new ConnectionSession(socket, this.sessionDeps, peer);
    conn.session = session;
    this.connections.set(session, conn);
    session.admitted = true;
    this.core.observer.connection?.('accepted', 'native');
    this.log.info(`New connection from ${session.remote}. Active connections: ${this.activeSessions}`);
    session.run().catch((err) => {
      // run() handles its own errors; this is the last guard for the process.
      this.log.error(`Session ${session.remote} crashed`, err);
      session.abort('internal error');
    });
  }

  /** A session's socket closed: free its place and say so. */
  private forget(session: SessionInfo): void {
    const conn = this.connections.get(session);
    if (!conn?.session?.admitted) return;
    conn.session.admitted = false;
    this.door.release(conn);
    this.core.observer.sessionClosed?.('native');
    this.log.info(`Connection closed for ${session.remote} (${conn.session.endReason}). Active connections: ${this.activeSessions}`);
  }

  /**
   * Accept failures arrive here. Out of descriptors, libuv accepts and drops
   * the pending connection itself (so the kernel queue does not spin us);
   * we say so once per interval and keep listening: accepting resumes by
   * itself as soon as descriptors free up.
   */
  private onAcceptError(err: NodeJS.ErrnoException): void {
    const key = err.code === 'EMFILE' || err.code === 'ENFILE' ? 'descriptors' : `accept ${err.code}`;
    const suppressed = this.core.throttle.admit(key);
    if (suppressed === undefined) return;
    if (key === 'descriptors') {
      this.log.error(`Out of file descriptors (${err.code}): refusing new connections until some close${suppressedNote(suppressed)}`);
    } else {
      this.log.error(`Accepting a connection failed${suppressedNote(suppressed)}`, err);
    }
  }

  /**
   * Refuse a connection that was not admitted, with a greeting that says
   * why (encrypted on a TLS port), and close without waiting on the client.
   * Logged once per address and code per interval. While draining, the
   * connection is simply closed.
   */
  private refuse(raw: net.Socket, knock: Knock, refusal: Refusal | undefined): void {
    if (!refusal) {
      raw.destroy();
      return;
    }
    const { message, reason } = refusal;
    const code = refusalCode(reason);
    const greeting = encodeFrame({ type: 'connection', code, message });
    const greeted = this.door.sendRefusal(raw, knock, greeting);
    const { remote, key } = knock;
    const suppressed = this.core.throttle.admit(`refused ${key} ${code}`);
    if (suppressed !== undefined) {
      const cut = greeted ? '' : ', closed without a greeting (too many refusals under way)';
      this.log.warn(`Refused connection from ${remote}: ${message} (${code})${cut}${suppressedNote(suppressed)}`);
    }
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
    this.door.terminate();
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.log.info(`Server shutting down... (${this.activeSessions} active connections)`);
    await this.door.drain(graceMs, {
      graceOver: (ms, left) => `Grace period of ${ms / 1000} s over; closing ${left} connection(s)`,
    });
    if (this.ownsCore) await this.core.close();
    this.log.info('Server stopped');
  }
}
