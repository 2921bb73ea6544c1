/**
 * The standard FTP port (RFC 959, with FTPS per RFC 4217): a listener on
 * the same {@link ServerCore} as the native port, so both serve the same
 * files, accounts, bans, connection caps, rate limit, transfer records and
 * metrics. A ban earned on one port, or a per-address cap filled on it,
 * holds on the other.
 *
 * Every connection passes the core's door on the raw socket, before a byte
 * is read and (on the implicit FTPS port) before the TLS handshake; a
 * refused one gets `421 <why>` and is closed. Shutdown drains like the
 * native port: no new connections, idle sessions get 421, transfers in
 * flight may finish within the grace period, the rest is cut.
 *
 * Behind a load balancer (`proxy`) the control port and the passive data
 * ports read the balancer's PROXY header first (src/core/intake.ts): the
 * door, the log labels, the data-connection check and PORT/EPRT all see
 * the client it names, never the balancer. On the implicit FTPS port the
 * header comes before the TLS handshake, as HAProxy sends it.
 */
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { TlsCredentials } from '../auth/tls-files';
import type { Refusal } from '../core/admission';
import { Door, type DoorConnection, type Knock } from '../core/door';
import type { Peer, ProxySettings } from '../core/intake';
import type { Listener } from '../core/listener';
import type { ServerCore } from '../core/server-core';
import type { Log } from '../logging/log';
import { suppressedNote } from '../logging/throttle';
import { TlsAcceptor } from '../core/tls-acceptor';
import { FtpCommandTable } from './commands';
import type { FtpServices } from './commands/command';
import type { PortRange } from './data-address';
import { FtpSession, type FtpSessionHost } from './ftp-session';
import { createFtpSecureContext } from './ftp-tls';
import { PassivePorts } from './passive-ports';
import { formatReply } from './replies';

/** How to start an FTP listener. */
export interface FtpServerOptions {
  /** The shared services (storage, accounts, admission, transfers, observer, limits). */
  core: ServerCore;
  /** Address to listen on (default `0.0.0.0`). */
  host?: string;
  /** Port; 0 picks a free one (default 21). */
  port?: number;
  /** Certificate and key: explicit FTPS (`AUTH TLS`) on this port, or TLS from the first byte with `implicitTls`. */
  tls?: TlsCredentials;
  /** TLS from the first byte (the FTPS port, customarily 990). Needs `tls`. */
  implicitTls?: boolean;
  /** With `tls`: still allow logins and data connections in cleartext. */
  allowPlain?: boolean;
  /** The IPv4 address advertised in 227 replies (behind NAT, on EC2). */
  pasvAddress?: string;
  /** The passive port range (default: any free port). */
  pasvPorts?: PortRange;
  /** Allow PORT/EPRT (to the client's own address, ports >= 1024). Default true. */
  activeAllowed?: boolean;
  /** Behind a load balancer: clients are named by its PROXY header, on the control and the passive data ports. */
  proxy?: ProxySettings;
}

type Connection = DoorConnection<FtpSession>;

/** See the module comment. */
export class FtpServer implements Listener, FtpSessionHost {
  readonly services: FtpServices;
  private readonly door: Door<FtpSession>;
  private readonly bySession = new WeakMap<FtpSession, Connection>();
  private readonly tls: TlsAcceptor | undefined;
  private readonly log: Log;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly core: ServerCore,
    implicitTls: boolean,
    options: FtpServerOptions,
  ) {
    this.log = core.log;
    const context: tls.SecureContext | undefined = options.tls && createFtpSecureContext(options.tls);
    this.services = {
      transfers: core.transfers,
      authenticator: core.authenticator,
      guestStorage: core.guestStorage,
      capabilities: core.storage.capabilities,
      clock: core.clock,
      limits: core.limits,
      log: core.log,
      throttle: core.throttle,
      observer: core.observer,
      policy: {
        tls: context,
        implicitTls,
        allowPlain: options.allowPlain ?? false,
        activeAllowed: options.activeAllowed ?? true,
        pasvAddress: options.pasvAddress,
        ...(options.proxy ? { proxy: options.proxy } : {}),
      },
      ports: new PassivePorts(options.pasvPorts),
      commands: new FtpCommandTable(),
    };
    // The implicit port shakes hands with the same context its data connections use, so sessions resume.
    this.tls =
      implicitTls && options.tls
        ? new TlsAcceptor(options.tls, { handshakeTimeoutMs: core.limits.frameTimeoutMs, clock: core.clock, log: core.log, throttle: core.throttle, secureContext: context })
        : undefined;
    this.door = new Door<FtpSession>(
      core,
      { protocol: 'ftp', tls: this.tls, proxy: options.proxy },
      {
        refuse: (raw, knock, refusal) => this.refuse(raw, knock, refusal),
        start: (conn, socket, peer) => this.startSession(conn, socket, this.tls !== undefined, peer),
        acceptFailed: (err) => this.onAcceptError(err),
      },
    );
  }

  /** Listen for FTP (or, with `implicitTls`, FTPS) on `host:port`. */
  static async start(options: FtpServerOptions): Promise<FtpServer> {
    if (options.implicitTls && !options.tls) throw new Error('Implicit FTPS needs a TLS certificate and key');
    const server = new FtpServer(options.core, options.implicitTls ?? false, options);
    await server.door.listen(options.host ?? '0.0.0.0', options.port ?? 21);
    return server;
  }

  get address(): AddressInfo {
    return this.door.address;
  }

  get port(): number {
    return this.address.port;
  }

  /** Control connections past the door (and past the handshake on the implicit port). */
  get activeSessions(): number {
    return this.door.activeSessions;
  }

  get draining(): boolean {
    return this.door.draining;
  }

  /** The passive ports of the range held right now (for tests and status). */
  get passivePortsInUse(): number {
    return this.services.ports.inUse;
  }

  private startSession(conn: Connection, socket: net.Socket, secure: boolean, peer: Peer | undefined): void {
    const session = new FtpSession(socket, this, { secure, ...(peer ? { peer } : {}) });
    conn.session = session;
    this.bySession.set(session, conn);
    this.core.observer.connection?.('accepted', 'ftp');
    this.log.info(`New FTP connection from ${session.remote}. Active FTP connections: ${this.activeSessions}`);
    session.start();
  }

  /** @internal A session's control connection closed. */
  sessionClosed(session: FtpSession): void {
    const conn = this.bySession.get(session);
    if (!conn || !this.door.open.has(conn)) return;
    this.door.release(conn);
    this.core.observer.sessionClosed?.('ftp');
    this.log.info(`FTP connection closed for ${session.remote} (${session.endReason}). Active FTP connections: ${this.activeSessions}`);
  }

  /** `421 <why>` and close, encrypted on the implicit port; logged once per address per interval. */
  private refuse(raw: net.Socket, knock: Knock, refusal: Refusal | undefined): void {
    const message = refusal?.message ?? 'Server shutting down';
    const greeted = this.door.sendRefusal(raw, knock, Buffer.from(formatReply(421, message)));
    if (!refusal) return;
    const { remote, key } = knock;
    const suppressed = this.core.throttle.admit(`ftp refused ${key} ${refusal.reason}`);
    if (suppressed === undefined) return;
    const cut = greeted ? '' : ', closed without a reply (too many refusals under way)';
    this.log.warn(`Refused FTP connection from ${remote}: ${message} (421)${cut}${suppressedNote(suppressed)}`);
  }

  private onAcceptError(err: NodeJS.ErrnoException): void {
    const key = err.code === 'EMFILE' || err.code === 'ENFILE' ? 'descriptors' : `ftp accept ${err.code}`;
    const suppressed = this.core.throttle.admit(key);
    if (suppressed === undefined) return;
    this.log.error(`Accepting an FTP connection failed${suppressedNote(suppressed)}`, err);
  }

  /** Stop accepting, let transfers finish for up to `graceMs`, then cut what is left. Idempotent. */
  close(graceMs = this.core.limits.shutdownGraceMs): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  /** Cut every connection now, transfers included. */
  terminate(): void {
    this.door.terminate();
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.log.info(`FTP server shutting down... (${this.activeSessions} active FTP connections)`);
    await this.door.drain(graceMs, {
      graceOver: (ms, left) => `Grace period of ${ms / 1000} s over; closing ${left} FTP connection(s)`,
    });
    this.log.info('FTP server stopped');
  }
}
