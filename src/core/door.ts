/**
 * The part of a listener that is the same whatever protocol it speaks: a
 * `net.Server`, the intake (who the client is: the socket's peer or its
 * PROXY header), the core's admission on the raw connection, the TLS
 * handshake of an admitted connection on a TLS port, the places held, and
 * the drain at shutdown.
 *
 * What differs stays with the listener, as hooks: how a refusal is worded
 * (a native greeting frame, an FTP `421`), how a session starts, what an
 * accept failure is called. The native port (src/server/file-server.ts)
 * and the FTP ports (src/ftp/ftp-server.ts) each hold one door.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LISTEN_BACKLOG } from '../config/defaults';
import type { Log } from '../logging/log';
import { addressKey, normaliseIp } from '../util/address-key';
import type { Refusal } from './admission';
import { Intake, type Peer, type ProxySettings } from './intake';
import type { Protocol } from './observer';
import type { ServerCore } from './server-core';
import type { PendingHandshake, TlsAcceptor } from './tls-acceptor';

/** A refused cleartext socket gets this long to take its answer before it is cut. */
const REFUSAL_LINGER_MS = 2_000;

/** What a door needs of a session to drain it. */
export interface DrainableSession {
  /** Finish what is under way, refuse the rest, then close (the drain). */
  shutdown(): void;
  /** Close now, whatever is under way. */
  abort(reason: string): void;
  /** Settles once the session has logged its end. */
  readonly settled: Promise<void>;
}

/** One accepted TCP connection holding a place: its admission key, and what it is now. */
export interface DoorConnection<S> {
  readonly key: string;
  /** A TLS handshake under way (TLS ports only). */
  handshake?: PendingHandshake;
  session?: S;
}

/** Who knocked, for refusals and logs. */
export interface Knock {
  /** `IP:PORT` of the client (the PROXY header's when there is one). */
  readonly remote: string;
  /** The admission key of its address. */
  readonly key: string;
}

/** The listener's own answers. */
export interface DoorHooks<S> {
  /**
   * Turn a connection away in the listener's words. `refusal` is undefined
   * when the listener is draining. The door has told the observer already.
   */
  refuse(raw: net.Socket, knock: Knock, refusal: Refusal | undefined): void;
  /** An admitted connection (past its handshake on a TLS port) is ready: start its session. */
  start(conn: DoorConnection<S>, socket: net.Socket, peer: Peer | undefined): void;
  /** `net.Server` could not accept (out of descriptors, most often). */
  acceptFailed(err: NodeJS.ErrnoException): void;
}

export interface DoorOptions {
  protocol: Protocol;
  /** TLS from the first byte, after admission. */
  tls?: TlsAcceptor;
  /** Behind a load balancer: the client is named by its PROXY header. */
  proxy?: ProxySettings;
}

/** The wording of a drain's log lines, in the listener's terms. */
export interface DrainWords {
  /** `Grace period of 30 s over; closing 2 connection(s)`. */
  graceOver(graceMs: number, connections: number): string;
}

/** See the module comment. */
export class Door<S extends DrainableSession> {
  /** This listener's connections holding a place (the core's admission counts every listener's). */
  readonly open = new Set<DoorConnection<S>>();
  private handshakes = 0;
  private readonly server: net.Server;
  private readonly intake: Intake;
  private readonly log: Log;
  private closing = false;
  private emptied: (() => void) | undefined;

  constructor(
    private readonly core: ServerCore,
    private readonly options: DoorOptions,
    private readonly hooks: DoorHooks<S>,
  ) {
    this.log = core.log;
    this.intake = new Intake({ proxy: options.proxy, clock: core.clock, log: core.log, throttle: core.throttle }, (socket, peer) => this.admitted(socket, peer));
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err: NodeJS.ErrnoException) => hooks.acceptFailed(err));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Sessions open right now (past admission, and past their TLS handshake). */
  get activeSessions(): number {
    return this.open.size - this.handshakes;
  }

  get draining(): boolean {
    return this.closing;
  }

  /** Give a connection's place back (its session closed, or its handshake failed). */
  release(conn: DoorConnection<S>): void {
    this.core.admission.release(conn.key, conn);
    this.open.delete(conn);
    if (this.open.size === 0) this.emptied?.();
  }

  /**
   * Write a refusal's answer and close without waiting on the client: in
   * cleartext, cut after a short linger; on a TLS port, encrypted after a
   * handshake the acceptor bounds. False when the TLS acceptor had no room
   * left for one more refusal and closed the socket unanswered.
   */
  sendRefusal(raw: net.Socket, { remote, key }: Knock, answer: Buffer): boolean {
    const { tls } = this.options;
    if (tls) return tls.refuse(raw, { key, peer: remote }, answer);
    const cut = setTimeout(() => raw.destroy(), REFUSAL_LINGER_MS);
    cut.unref();
    raw.once('close', () => clearTimeout(cut));
    raw.end(answer, () => raw.destroy());
    return true;
  }

  /** Cut every connection now, transfers included. */
  terminate(): void {
    for (const conn of [...this.open]) {
      conn.handshake?.cancel();
      conn.session?.abort('server terminated');
    }
  }

  /**
   * Stop accepting, let sessions finish for up to `graceMs`, then cut what
   * is left; resolves once every session has logged its end. Call once.
   */
  async drain(graceMs: number, words: DrainWords): Promise<void> {
    this.closing = true;
    // Sessions cut by a closed socket still log their ending: wait for those lines.
    const sessions = [...this.open].flatMap((conn) => (conn.session ? [conn.session] : []));
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Headers, handshakes and refusals under way have nothing to finish.
    this.intake.close();
    this.options.tls?.close();
    for (const conn of [...this.open]) {
      if (!conn.handshake) continue;
      // Not yet a session, so never counted as accepted: it is refused by the drain.
      this.core.observer.connection?.('draining', this.options.protocol);
      conn.handshake.cancel();
    }
    if (this.open.size > 0) {
      const empty = new Promise<void>((resolve) => {
        this.emptied = resolve;
      });
      for (const session of sessions) session.shutdown();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const outcome = await Promise.race([empty, graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.log.warn(words.graceOver(graceMs, this.open.size));
        this.terminate();
      }
    }
    await stopped;
    await Promise.all(sessions.map((session) => session.settled));
  }

  private accept(raw: net.Socket): void {
    // Nothing is read until the connection is admitted (past its PROXY
    // header, if any), and a refused one is only written to: a reset at any
    // of those moments must not become an unhandled error. Sessions listen
    // for errors themselves; this guard stays for the socket's life.
    raw.on('error', ignore);
    this.intake.accept(raw);
  }

  /** The client is known (`peer` from a PROXY header, else the socket's own): to the door. */
  private admitted(raw: net.Socket, peer: Peer | undefined): void {
    this.admit(raw, peer).catch((err: unknown) => {
      this.log.error('Admitting a connection failed', err);
      raw.destroy();
    });
  }

  private async admit(raw: net.Socket, peer: Peer | undefined): Promise<void> {
    const { observer } = this.core;
    const { protocol, tls } = this.options;
    const ip = normaliseIp(peer?.address ?? raw.remoteAddress);
    const knock: Knock = { remote: `${ip}:${peer?.port ?? raw.remotePort}`, key: addressKey(ip) };
    if (this.closing) {
      observer.connection?.('draining', protocol);
      this.hooks.refuse(raw, knock, undefined);
      return;
    }
    const conn: DoorConnection<S> = { key: knock.key };
    const admitted = await this.core.admission.admit(ip, conn);
    if (!admitted.admitted) {
      observer.connection?.(admitted.reason, protocol);
      this.hooks.refuse(raw, knock, admitted);
      return;
    }
    if (this.closing || raw.destroyed) {
      // Drained, or gone, while the admission was decided.
      if (this.closing) observer.connection?.('draining', protocol);
      this.core.admission.release(conn.key, conn);
      raw.destroy();
      return;
    }
    this.open.add(conn);
    if (!tls) {
      this.hooks.start(conn, raw, peer);
      return;
    }
    // The place counts from here; an unfinished handshake keeps it only
    // until the handshake timeout.
    this.handshakes += 1;
    conn.handshake = tls.handshake(
      raw,
      { key: conn.key, peer: knock.remote },
      (secure) => {
        this.handshakes -= 1;
        conn.handshake = undefined;
        this.hooks.start(conn, secure, peer);
      },
      () => {
        this.handshakes -= 1;
        conn.handshake = undefined;
        this.release(conn);
      },
    );
  }
}

function ignore(): void {}
