/**
 * One session's data connection: where it will come from (a passive
 * listener after PASV/EPSV, or the client's port after PORT/EPRT) and
 * getting it when a transfer command asks. Each PASV or PORT serves one
 * transfer; after it the session must ask again, as every client does.
 *
 * Passive listeners accept only connections from the control connection's
 * own address: anyone else (port stealing, RFC 2577 §5: a third party racing
 * the client to the advertised port) is closed unread and logged as a
 * WARNING, and the listener keeps waiting for the real client. Active
 * connections go only where the bounce rule allows (checked by PORT/EPRT)
 * and leave from the control connection's local address.
 *
 * Behind a load balancer (`proxy`) the balancer forwards the passive range
 * too, so every data connection comes from it: the client is then the one
 * its PROXY header names, and a connection from anyone but a trusted
 * balancer, or without a header, never reaches the address check.
 */
import net from 'node:net';
import { Intake, type Peer, type ProxySettings } from '../core/intake';
import type { Log } from '../logging/log';
import { suppressedNote, type LogThrottle } from '../logging/throttle';
import { addressKey } from '../util/address-key';
import type { Clock } from '../util/clock';
import { canonicalIp, type DataAddress } from './data-address';
import { FtpReplyError } from './error-replies';
import type { PassiveListener, PassivePorts } from './passive-ports';

/** What a {@link DataChannel} needs from its session and server. */
export interface DataChannelDeps {
  ports: PassivePorts;
  log: Log;
  throttle: LogThrottle;
  clock: Clock;
  /** How long a transfer command waits for its data connection (then 425). */
  connectTimeoutMs: number;
  /** The control connection's client IP, canonical. */
  controlPeer(): string;
  /** The control connection's local IP, canonical (where passive listeners bind and active connections leave from). */
  controlLocal(): string;
  /** Read a PROXY header on each passive data connection first (`--proxy-protocol`). */
  proxy?: ProxySettings;
}

type Mode =
  | { kind: 'none' }
  | {
      kind: 'passive';
      listener: PassiveListener | undefined;
      accepted: net.Socket | undefined;
      wake: (() => void) | undefined;
      intake: Intake | undefined;
    }
  | { kind: 'active'; target: DataAddress };

const NONE: Mode = Object.freeze({ kind: 'none' as const });

/** See the module comment. */
export class DataChannel {
  private mode: Mode = NONE;

  constructor(private readonly deps: DataChannelDeps) {}

  /** True once PASV/EPSV or PORT/EPRT said where the next data connection comes from. */
  get ready(): boolean {
    return this.mode.kind !== 'none';
  }

  /** True while a passive listener waits or holds an accepted connection (ABOR then answers 226). */
  get open(): boolean {
    return this.mode.kind === 'passive';
  }

  /**
   * Open a passive listener on the control connection's local address and
   * return its port. A listener from an earlier PASV is closed first.
   * @throws PassivePortsExhausted when the range is full.
   */
  async listenPassive(): Promise<number> {
    this.close();
    const listener = await this.deps.ports.listen(this.deps.controlLocal());
    const mode: Mode & { kind: 'passive' } = { kind: 'passive', listener, accepted: undefined, wake: undefined, intake: undefined };
    this.mode = mode;
    const { proxy, clock, log, throttle } = this.deps;
    if (proxy) {
      const intake = new Intake({ proxy, clock, log, throttle }, (socket, peer) => this.accepted(mode, socket, peer));
      mode.intake = intake;
      listener.server.on('connection', (socket: net.Socket) => {
        socket.on('error', () => undefined);
        intake.accept(socket);
      });
    } else {
      listener.server.on('connection', (socket: net.Socket) => this.accepted(mode, socket, undefined));
    }
    listener.server.on('error', () => undefined);
    return listener.port;
  }

  /** The next data connection goes to `target` (already checked against the bounce rule). */
  useActive(target: DataAddress): void {
    this.close();
    this.mode = { kind: 'active', target };
  }

  /**
   * The data connection for a transfer: the one a passive listener accepted
   * (waiting for it if need be), or a new one to the active target. Both
   * waits end after the connect timeout (425) or when `signal` aborts.
   */
  async connect(signal: AbortSignal): Promise<net.Socket> {
    const mode = this.mode;
    if (mode.kind === 'none') throw new FtpReplyError(425, 'Use PASV, EPSV, PORT or EPRT first');
    if (mode.kind === 'active') return this.connectActive(mode.target, signal);
    if (!mode.accepted) await this.waitForAccept(mode, signal);
    const socket = mode.accepted!;
    mode.accepted = undefined;
    if (socket.destroyed) throw new FtpReplyError(425, 'The data connection closed before the transfer began');
    return socket;
  }

  /** Forget the current mode: close the listener and any connection not handed out. Idempotent. */
  close(): void {
    const mode = this.mode;
    this.mode = NONE;
    if (mode.kind !== 'passive') return;
    mode.listener?.release();
    mode.intake?.close();
    mode.accepted?.destroy();
    mode.wake?.();
  }

  /** `peer`: the client a PROXY header named (proxy mode); else the socket's own peer. */
  private accepted(mode: Mode & { kind: 'passive' }, socket: net.Socket, peer: Peer | undefined): void {
    socket.on('error', () => undefined);
    const from = canonicalIp(peer?.address ?? socket.remoteAddress ?? '') ?? '';
    if (from !== this.deps.controlPeer() || mode !== this.mode || mode.accepted !== undefined) {
      if (from !== this.deps.controlPeer()) this.warnForeign(from, peer?.port ?? socket.remotePort);
      // Closed unread: nothing is sent to or read from a stranger.
      socket.destroy();
      return;
    }
    mode.accepted = socket;
    // One connection per PASV: the port is free for others from now on.
    mode.listener?.release();
    mode.listener = undefined;
    // Strangers still in their header have lost the race: closed now, not at their header timeout.
    mode.intake?.close();
    mode.wake?.();
  }

  private warnForeign(ip: string, port: number | undefined): void {
    const suppressed = this.deps.throttle.admit(`ftp foreign data ${addressKey(ip)}`);
    if (suppressed === undefined) return;
    this.deps.log.warn(
      `Refused a data connection from ${ip}:${port ?? '?'}: not the control connection's address ${this.deps.controlPeer()}${suppressedNote(suppressed)}`,
    );
  }

  private waitForAccept(mode: Mode & { kind: 'passive' }, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeoutMs = this.deps.connectTimeoutMs;
      const timer = this.deps.clock.setTimer(timeoutMs, () => finish(new FtpReplyError(425, `No data connection within ${timeoutMs / 1000} s`)));
      const onAbort = (): void => finish(signal.reason as Error);
      const finish = (err?: Error): void => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        mode.wake = undefined;
        if (err) reject(err);
        else if (!mode.accepted) reject(new FtpReplyError(425, 'Data connection closed'));
        else resolve();
      };
      if (signal.aborted) return finish(signal.reason as Error);
      signal.addEventListener('abort', onAbort);
      mode.wake = () => finish();
    });
  }

  private connectActive(target: DataAddress, signal: AbortSignal): Promise<net.Socket> {
    this.mode = NONE;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port, localAddress: this.deps.controlLocal(), noDelay: true });
      const timeoutMs = this.deps.connectTimeoutMs;
      const timer = this.deps.clock.setTimer(timeoutMs, () => fail(new FtpReplyError(425, `Could not connect to ${target.host}:${target.port} within ${timeoutMs / 1000} s`)));
      const onAbort = (): void => fail(signal.reason as Error);
      const cleanup = (): void => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      const fail = (err: Error): void => {
        cleanup();
        socket.on('error', () => undefined);
        socket.destroy();
        reject(err);
      };
      const onConnect = (): void => {
        cleanup();
        // Paused like an accepted passive connection: read only when a transfer wants it.
        socket.pause();
        socket.on('error', () => undefined);
        resolve(socket);
      };
      const onError = (err: NodeJS.ErrnoException): void => fail(new FtpReplyError(425, `Could not open the data connection (${err.code ?? err.message})`));
      if (signal.aborted) return fail(signal.reason as Error);
      signal.addEventListener('abort', onAbort);
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
  }
}
