import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LISTEN_BACKLOG, PROTOCOL_VERSION, SERVER_NAME, type ServerLimits } from '../config/defaults';
import type { SessionInfo } from '../core/access';
import type { HashJobCounts } from '../core/hash-worker';
import type { Refusal } from '../core/admission';
import { Intake, type Peer } from '../core/intake';
import type { Listener } from '../core/listener';
import { ServerCore } from '../core/server-core';
import type { Log } from '../logging/log';
import { suppressedNote } from '../logging/throttle';
import { encodeFrame } from '../protocol/frame-encoder';
import type { GreetingMessage } from '../protocol/messages';
import { addressKey, normaliseIp } from '../util/address-key';
import { commandsFor } from './commands';
import { ConnectionSession, type SessionDeps } from './connection-session';
import type { FileServerOptions } from './file-server-options';
import { refusalCode } from './replies';
import { TlsAcceptor, type PendingHandshake } from './tls-listener';

export { TLS_CIPHERS, type TlsCredentials } from './tls-listener';
export type { FileServerOptions } from './file-server-options';
export type { BanList } from '../core/admission';
export { normaliseIp } from '../util/address-key';

/** A refused socket gets this long to take its greeting before it is cut. */
const REFUSAL_LINGER_MS = 2_000;

/**
 * One accepted TCP connection holding a place: its admission key, and what
 * it is now — a TLS handshake under way, or a session.
 */
interface Connection {
  readonly key: string;
  handshake?: PendingHandshake;
  session?: ConnectionSession;
}

/**
 * The native-protocol server: one `net.Server` in front of a shared
 * {@link ServerCore}: admission on the raw connection (before any TLS
 * handshake), then a session per admitted connection.
 */
export class FileServer implements Listener {
  readonly limits: ServerLimits;
  /** This listener's connections holding a place (the core's admission counts every listener's). */
  private readonly open = new Set<Connection>();
  private readonly connections = new WeakMap<SessionInfo, Connection>();
  private readonly tls: TlsAcceptor | undefined;
  /** Who the client is: the socket's peer, or the PROXY header's source. */
  private readonly intake: Intake;
  private handshakes = 0;
  private readonly server: net.Server;
  private readonly log: Log;
  /** One dependencies object shared by every session (not one per connection). */
  private readonly sessionDeps: SessionDeps;
  private closing: Promise<void> | undefined;
  private emptied: (() => void) | undefined;

  private constructor(
    readonly core: ServerCore,
    /** Whether this server made its core (and so closes it when it stops). */
    private readonly ownsCore: boolean,
    private readonly extras: Pick<FileServerOptions, 'tls' | 'proxy'> = {},
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
    this.tls = extras.tls && new TlsAcceptor(extras.tls, { handshakeTimeoutMs: limits.frameTimeoutMs, clock, log, throttle: core.throttle });
    this.intake = new Intake({ proxy: extras.proxy, clock, log, throttle: core.throttle }, (socket, peer) => this.admitted(socket, peer));
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.onAcceptError(err));
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
      await server.listen(options.host ?? '0.0.0.0', options.port ?? 5002);
    } catch (err) {
      if (options.core === undefined) await core.close();
      throw err;
    }
    return server;
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return this.address.port;
  }

  /** Sessions open right now (connections past admission, and past their TLS handshake). */
  get activeSessions(): number {
    return this.open.size - this.handshakes;
  }

  /** Connections holding a place right now: sessions and TLS handshakes under way. */
  get openConnections(): number {
    return this.open.size;
  }

  /** Answer bytes each open session holds unsent, its client not having read them (read-only). */
  get unsentBytesPerSession(): number[] {
    return [...this.open].flatMap((conn) => (conn.session ? [conn.session.unsentBytes] : []));
  }

  /** What the shared hash worker has done: jobs started, completed, cancelled, shared, refused (read-only). */
  get hashJobs(): HashJobCounts {
    return this.core.hashJobs;
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

  private accept(raw: net.Socket): void {
    // Nothing is read until the connection is admitted (past its PROXY
    // header, if any), but a reset meanwhile must not become an unhandled error.
    raw.on('error', ignore);
    this.intake.accept(raw);
  }

  /** The client is known (`peer` from a PROXY header, else the socket's own): to the door. */
  private admitted(raw: net.Socket, peer: Peer | undefined): void {
    this.admit(raw, peer).then(
      () => raw.off('error', ignore),
      (err: unknown) => {
        this.log.error('Admitting a connection failed', err);
        raw.destroy();
      },
    );
  }

  private async admit(raw: net.Socket, peer: Peer | undefined): Promise<void> {
    const ip = normaliseIp(peer?.address ?? raw.remoteAddress);
    const remote = `${ip}:${peer?.port ?? raw.remotePort}`;
    if (this.closing) {
      this.core.observer.connection?.('draining', 'native');
      raw.destroy();
      return;
    }
    const conn: Connection = { key: addressKey(ip) };
    const admitted = await this.core.admission.admit(ip, conn);
    if (!admitted.admitted) {
      this.refuse(raw, remote, conn.key, admitted);
      return;
    }
    if (this.closing || raw.destroyed) {
      // Drained, or gone, while the admission was decided.
      if (this.closing) this.core.observer.connection?.('draining', 'native');
      this.core.admission.release(conn.key, conn);
      raw.destroy();
      return;
    }
    this.open.add(conn);
    if (!this.tls) {
      this.start(conn, raw, peer);
      return;
    }
    // The place counts from here; an unfinished handshake keeps it only
    // until the handshake timeout.
    this.handshakes += 1;
    conn.handshake = this.tls.handshake(
      raw,
      { key: conn.key, peer: remote },
      (secure) => {
        this.handshakes -= 1;
        conn.handshake = undefined;
        this.start(conn, secure, peer);
      },
      () => {
        this.handshakes -= 1;
        conn.handshake = undefined;
        this.release(conn);
      },
    );
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
    this.release(conn);
    this.core.observer.sessionClosed?.('native');
    this.log.info(`Connection closed for ${session.remote} (${conn.session.endReason}). Active connections: ${this.activeSessions}`);
  }

  private release(conn: Connection): void {
    this.core.admission.release(conn.key, conn);
    this.open.delete(conn);
    if (this.open.size === 0) this.emptied?.();
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
   * Logged once per address and code per interval.
   */
  private refuse(raw: net.Socket, remote: string, key: string, refusal: Refusal): void {
    const { message, reason } = refusal;
    const code = refusalCode(reason);
    this.core.observer.connection?.(reason, 'native');
    const greeting = encodeFrame({ type: 'connection', code, message });
    const greeted = this.tls ? this.tls.refuse(raw, { key, peer: remote }, greeting) : sendAndClose(raw, greeting);
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
    for (const conn of [...this.open]) {
      conn.handshake?.cancel();
      conn.session?.abort('server terminated');
    }
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.log.info(`Server shutting down... (${this.activeSessions} active connections)`);
    // Commands cut by a closed socket still log their ending: wait for those lines.
    const sessions = [...this.open].flatMap((conn) => (conn.session ? [conn.session] : []));
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Headers, handshakes and refusals under way have nothing to finish.
    this.intake.close();
    this.tls?.close();
    for (const conn of [...this.open]) {
      if (!conn.handshake) continue;
      // Not yet a session, so never counted as accepted: it is refused by the drain.
      this.core.observer.connection?.('draining', 'native');
      conn.handshake.cancel();
    }
    if (this.open.size > 0) {
      const empty = new Promise<void>((resolve) => {
        this.emptied = resolve;
      });
      for (const conn of [...this.open]) conn.session?.shutdown();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const outcome = await Promise.race([empty, graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.log.warn(`Grace period of ${graceMs / 1000} s over; closing ${this.open.size} connection(s)`);
        this.terminate();
      }
    }
    await stopped;
    await Promise.all(sessions.map((session) => session.settled));
    if (this.ownsCore) await this.core.close();
    this.log.info('Server stopped');
  }
}

function ignore(): void {}

/** Write a cleartext refusal greeting and close; a client that does not read is cut after a while. */
function sendAndClose(socket: net.Socket, greeting: Buffer): true {
  socket.on('error', () => {});
  const cut = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
  socket.end(greeting, () => socket.destroy());
  return true;
}
