/**
 * One FTP control connection. Its bytes go through the session's own line
 * decoder; commands run one at a time, in order, each answered before the
 * next is read, so pipelined commands are answered in the order sent.
 *
 * One exception, as RFC 959 §4.1.3 asks: while a data transfer is under
 * way, the control connection is still read, so the client can abort it.
 * ABOR runs at once (the transfer stops, its command answers 426, then
 * ABOR answers 226); STAT (how far the transfer got) and QUIT (the
 * transfer finishes, then 221 and the close) run at once when no other
 * command waits before them. Every other line read meanwhile waits in a
 * short queue and runs after the transfer's reply; when the queue is full,
 * reading stops.
 *
 * Memory stays bounded: the decoder holds at most one chunk and one line,
 * the queue a few lines, and reading stops while too many replies wait for
 * a client that does not read them ({@link ReplyBacklog}).
 */
import type { Socket } from 'node:net';
import type { Principal } from '../core/access';
import type { Peer } from '../core/intake';
import type { Log } from '../logging/log';
import { InvalidFrames } from '../server/invalid-frames';
import type { Timer } from '../util/clock';
import { parseCommandLine } from './command-line';
import type { ActiveTransfer, CommandReply, FtpServices } from './commands/command';
import { canonicalIp } from './data-address';
import { DataChannel } from './data-channel';
import { runFtpCommand, type DispatchSession } from './dispatcher';
import { serverHandshake } from './ftp-tls';
import { LineDecoder, type DecodedLine } from './line-decoder';
import { ReplyBacklog } from './reply-backlog';
import { formatReply } from './replies';
import { SessionState } from './session-state';

/** Lines read during a transfer and held for after it; beyond, reading stops. */
const MAX_QUEUED_LINES = 16;
/** How long a closing connection may linger for the peer's FIN before it is cut. */
const CLOSE_LINGER_MS = 5_000;
/** The greeting (RFC 959: 220 "service ready for new user"). */
const GREETING = formatReply(220, 'ftp-server ready');

/** What the listener gives each session. */
export interface FtpSessionHost {
  readonly services: FtpServices;
  /** The control connection is gone: give its place back. Called once. */
  sessionClosed(session: FtpSession): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the listener types of node:events
type SocketListener = (...args: any[]) => void;

/** See the module comment. */
export class FtpSession implements DispatchSession {
  readonly state = new SessionState();
  readonly data: DataChannel;
  readonly remote: string;
  readonly ip: string;
  readonly localIp: string;
  readonly log: Log;
  loggedIn = false;
  principal: Principal | undefined;
  secure: boolean;
  /** The transfer under way, from its data phase until its command has answered. */
  transfer: ActiveTransfer | undefined;

  private socket: Socket;
  private decoder = new LineDecoder();
  private queue: DecodedLine[] = [];
  /** The command read in order (not one run during a transfer), while it runs. */
  private main: Promise<void> | undefined;
  /** Commands run during a transfer (ABOR, STAT, QUIT), while they run. */
  private side = 0;
  private transferWaiters: Array<() => void> = [];
  private phase: 'open' | 'closed' = 'open';
  private ended = false;
  private closeAfter = false;
  private shuttingDown = false;
  private tlsPending = false;
  private reason = '';
  private idleTimer: Timer | undefined;
  private readonly backlog: ReplyBacklog;
  private invalid: InvalidFrames | undefined;
  private readonly listeners: Array<[string, SocketListener]>;
  private closedOnce = false;

  constructor(
    socket: Socket,
    private readonly host: FtpSessionHost,
    options: { secure: boolean; peer?: Peer },
  ) {
    this.socket = socket;
    this.secure = options.secure;
    // Behind a balancer the socket's peer is the balancer; the PROXY header named the client.
    const address = options.peer?.address ?? socket.remoteAddress ?? 'unknown';
    this.ip = canonicalIp(address) ?? address;
    this.remote = `${address}:${options.peer?.port ?? socket.remotePort}`;
    this.localIp = canonicalIp(socket.localAddress ?? '') ?? socket.localAddress ?? '';
    this.log = host.services.log.child(`FTP-${this.remote}`);
    const { services } = host;
    this.data = new DataChannel({
      ports: services.ports,
      log: this.log,
      throttle: services.throttle,
      clock: services.clock,
      connectTimeoutMs: services.limits.transferTimeoutMs,
      controlPeer: () => this.ip,
      controlLocal: () => this.localIp,
      ...(services.policy.proxy ? { proxy: services.policy.proxy } : {}),
    });
    this.backlog = new ReplyBacklog({
      clock: services.clock,
      timeoutMs: services.limits.transferTimeoutMs,
      unsent: () => this.socket.writableLength,
      resume: () => {
        this.touch();
        this.pump();
      },
      stuck: (reason) => this.abort(reason),
    });
    this.listeners = [
      ['readable', () => this.pump()],
      ['end', () => this.peerEnded()],
      ['close', () => this.socketClosed()],
      ['drain', () => this.backlog.drained()],
      ['error', (err: NodeJS.ErrnoException) => this.noteReason(`socket error ${err.code ?? err.message}`)],
    ];
    socket.on('error', () => undefined);
  }

  get services(): FtpServices {
    return this.host.services;
  }

  /** Why the session ended, once it has. */
  get endReason(): string {
    return this.reason || 'client closed the connection';
  }

  /** Nothing runs: a shutdown may close it now. */
  get idle(): boolean {
    return this.main === undefined && this.side === 0;
  }

  /** Resolves once no command runs. */
  get settled(): Promise<void> {
    return this.main ?? Promise.resolve();
  }

  /** Greet the client and serve it. */
  start(): void {
    this.socket.setNoDelay(true);
    // Pipelined commands followed by a half-close each still get their answer.
    this.socket.allowHalfOpen = true;
    this.attach(this.socket);
    this.write(GREETING);
    this.idleTimer = this.services.clock.setTimer(this.services.limits.idleTimeoutMs, () => this.idleTimeout());
    this.pump();
  }

  // ------------------------------------------------------------ what commands use

  login(principal: Principal | undefined): void {
    this.loggedIn = true;
    this.principal = principal;
  }

  reply(code: number, text: string | readonly string[]): void {
    this.write(formatReply(code, text));
  }

  sendFinal(reply: CommandReply): void {
    const bytes = 'formatted' in reply ? reply.formatted : formatReply(reply.code, reply.text);
    if (this.tlsPending && reply.code === 234) {
      this.write(bytes);
      this.beginTls();
      return;
    }
    this.tlsPending = false;
    this.write(bytes);
  }

  answerInvalid(code: number, text: string, reason: string): void {
    this.invalid ??= new InvalidFrames(this.log, this.services.clock);
    const last = this.invalid.record(reason);
    this.reply(code, text);
    if (last) this.endAfterReply('too many invalid commands');
  }

  endAfterReply(reason: string): void {
    this.closeAfter = true;
    this.noteReason(reason);
  }

  startTlsAfterReply(): void {
    this.tlsPending = true;
  }

  beginTransfer(transfer: ActiveTransfer): void {
    this.transfer = transfer;
    // Read the control connection again: ABOR may come.
    queueMicrotask(() => this.pump());
  }

  afterTransfer(): Promise<void> {
    if (!this.transfer || !this.main) return Promise.resolve();
    return new Promise((resolve) => this.transferWaiters.push(resolve));
  }

  touch(): void {
    this.idleTimer?.refresh();
  }

  // ------------------------------------------------------------ what the listener uses

  /** Graceful shutdown: 421 and close now if idle, else once the commands under way have answered. */
  shutdown(): void {
    this.shuttingDown = true;
    if (this.idle) this.closeWith421('Server shutting down', 'server shutting down');
  }

  /** End the connection at once, a transfer under way included. */
  abort(reason: string): void {
    if (this.phase === 'closed') {
      this.socket.destroy();
      return;
    }
    this.log.warn(`Closing connection: ${reason}`);
    this.noteReason(reason);
    this.transfer?.abort(reason);
    this.finish();
    this.socket.destroy();
  }

  // ------------------------------------------------------------ reading and running

  private attach(socket: Socket): void {
    for (const [event, listener] of this.listeners) socket.on(event, listener);
  }

  private detach(socket: Socket): void {
    for (const [event, listener] of this.listeners) socket.off(event, listener);
  }

  private pump(): void {
    while (this.phase === 'open' && !this.tlsPending && !this.closeAfter) {
      if (this.backlog.over()) return;
      const running = this.main !== undefined || this.side > 0;
      if (running && !this.transfer) return;
      let item: DecodedLine | null = null;
      if (!running && this.queue.length > 0) {
        item = this.queue.shift()!;
      } else {
        if (this.queue.length >= MAX_QUEUED_LINES) return;
        item = this.decoder.next();
        if (item === null) {
          const chunk = this.socket.read() as Buffer | null;
          if (chunk !== null) {
            this.decoder.push(chunk);
            continue;
          }
          if (this.ended && !running && this.queue.length === 0) this.close('client closed the connection');
          return;
        }
      }
      if (!running) this.execute(item, false);
      else if (this.runsDuringTransfer(item)) this.execute(item, true);
      else this.queue.push(item);
    }
  }

  /** During a transfer: ABOR always runs at once; STAT and QUIT when nothing waits before them. */
  private runsDuringTransfer(item: DecodedLine): boolean {
    if (item.kind === 'telnet') return true;
    if (item.kind !== 'line') return false;
    const parsed = parseCommandLine(item.line);
    if (parsed.kind !== 'command') return false;
    const command = this.services.commands.get(parsed.verb);
    if (!command?.duringTransfer) return false;
    return parsed.verb === 'ABOR' || this.queue.length === 0;
  }

  private execute(item: DecodedLine, duringTransfer: boolean): void {
    if (item.kind === 'telnet') return; // IP and DM only announce the ABOR line that follows.
    if (item.kind === 'too_long') return this.answerInvalid(500, 'Command line too long', `line of ${item.bytes} bytes`);
    if (item.kind === 'bad_encoding') return this.answerInvalid(501, 'Command line is not valid UTF-8', 'line not valid UTF-8');
    const parsed = parseCommandLine(item.line);
    if (parsed.kind === 'empty') return this.answerInvalid(500, 'Empty command line', 'empty line');
    if (parsed.kind === 'bad_verb') return this.answerInvalid(500, 'Syntax error, command unrecognized', 'not a command');
    const running = runFtpCommand(this, parsed.verb, parsed.arg).catch((err: unknown) => {
      // runFtpCommand answers every failure itself; this guards against its own bugs.
      this.log.error('Session failed', err);
      this.abort('internal error');
    });
    if (duringTransfer) {
      this.side += 1;
      void running.then(() => {
        this.side -= 1;
        this.commandDone();
      });
      return;
    }
    const main: Promise<void> = running.then(() => {
      this.main = undefined;
      if (this.transfer) {
        this.transfer = undefined;
        for (const wake of this.transferWaiters.splice(0)) wake();
      }
      this.commandDone();
    });
    this.main = main;
  }

  private commandDone(): void {
    if (this.phase === 'closed') return;
    this.touch();
    if (!this.idle) return;
    if (this.tlsPending) return;
    if (this.closeAfter) return this.close(this.reason);
    if (this.shuttingDown) return this.closeWith421('Server shutting down', 'server shutting down');
    this.pump();
  }

  // ------------------------------------------------------------ TLS on the control connection

  /**
   * `AUTH TLS` was answered 234: whatever the client sent after the AUTH
   * line came before it saw the 234, so it is dropped unread (the classic
   * STARTTLS injection), then the handshake runs on the raw connection.
   */
  private beginTls(): void {
    const raw = this.socket;
    this.detach(raw);
    let dropped = this.decoder.bufferedBytes + this.queue.length;
    this.decoder = new LineDecoder();
    this.queue = [];
    for (let chunk = raw.read() as Buffer | null; chunk !== null; chunk = raw.read() as Buffer | null) dropped += chunk.length;
    if (dropped > 0) this.log.warn(`AUTH TLS: dropped ${dropped} byte(s) sent in cleartext after the AUTH command`);
    const { services } = this;
    serverHandshake(raw, services.policy.tls!, services.limits.frameTimeoutMs, services.clock).then(
      (secure) => {
        this.socket = secure;
        this.secure = true;
        this.tlsPending = false;
        this.attach(secure);
        if (this.phase === 'closed') {
          secure.destroy();
          return;
        }
        this.commandDone();
      },
      (err: Error) => {
        this.tlsPending = false;
        this.log.warn(`TLS handshake failed: ${err.message}`);
        this.noteReason('TLS handshake failed');
        this.finish();
        this.socketClosed();
      },
    );
  }

  // ------------------------------------------------------------ output, timers, the end

  private write(text: string): void {
    if (this.phase === 'closed' || this.socket.destroyed) return;
    this.socket.write(text);
  }

  private idleTimeout(): void {
    if (this.backlog.waiting || this.transfer) {
      // Waiting for the client to read, or a transfer that moves (its own stall timer watches it): not idle.
      this.idleTimer?.refresh();
      return;
    }
    const seconds = this.services.limits.idleTimeoutMs / 1000;
    this.log.warn(`Closing connection: idle for ${seconds} s`);
    this.closeWith421(`Timeout: idle for ${seconds} s; closing the control connection`, `idle for ${seconds} s`);
  }

  private closeWith421(text: string, reason: string): void {
    if (this.phase === 'closed') return;
    this.noteReason(reason);
    this.reply(421, text);
    this.close(reason);
  }

  private peerEnded(): void {
    this.ended = true;
    this.pump();
  }

  private noteReason(reason: string): void {
    this.reason ||= reason;
  }

  /** Flush what was written, then close. */
  private close(reason: string): void {
    if (this.phase === 'closed') return;
    this.noteReason(reason);
    this.finish();
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end();
    const linger = this.services.clock.setTimer(CLOSE_LINGER_MS, () => socket.destroy());
    socket.once('close', () => linger.cancel());
  }

  /** Stop everything of the session but the socket. */
  private finish(): void {
    this.phase = 'closed';
    this.idleTimer?.cancel();
    this.backlog.cancel();
    this.data.close();
  }

  private socketClosed(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.transfer?.abort('control connection closed');
    this.invalid?.ended();
    this.finish();
    this.host.sessionClosed(this);
  }
}
