import type { Socket } from 'node:net';
import { MAX_UNSENT_REPLY_BYTES } from '../config/defaults';
import type { Log } from '../logging/log';
import type { FramingError, ProtocolError } from '../protocol/errors';
import { FrameDecoder } from '../protocol/frame-decoder';
import { encodeFrame } from '../protocol/frame-encoder';
import type { Timer } from '../util/clock';
import type { Principal } from '../core/access';
import type { Peer } from '../core/intake';
import type { NativeSession } from './native-session';
import { runCommand } from './command-runner';
import { InvalidFrames } from './invalid-frames';
import type { SessionDeps } from './session-deps';
import { SessionTransfers, type TransferHost } from './session-transfers';

export type { SessionDeps } from './session-deps';

/** How long a closing connection may linger for the peer's FIN before it is cut. */
const CLOSE_LINGER_MS = 5_000;

/** Where the session is: waiting for bytes, running a command, or done. */
type State = 'waiting' | 'running' | 'closed';

const SESSION = Symbol('session');
type SessionSocket = Socket & { [SESSION]: ConnectionSession };

// Shared listeners (`this` is the socket): no closures per connection, which
// matters with ten thousand idle ones.
function onReadable(this: SessionSocket): void {
  this[SESSION].readable();
}
function onEnd(this: SessionSocket): void {
  this[SESSION].peerEnded();
}
function onClose(this: SessionSocket): void {
  this[SESSION].socketClosed();
}
function onDrain(this: SessionSocket): void {
  this[SESSION].drained();
}
function onIdle(session: ConnectionSession): void {
  session.idle();
}
function onOutputTimer(session: ConnectionSession): void {
  session.checkOutput();
}
function onError(this: SessionSocket, err: NodeJS.ErrnoException): void {
  // Resets and broken pipes are how clients often leave; not an error of ours.
  this[SESSION].noteReason(`socket error ${err.code ?? err.message}`);
}

/**
 * One client connection: decodes one command at a time, runs it to the end
 * (payload and trailer included), then decodes the next. Nothing is read
 * from the socket while a command runs, nor while more than
 * {@link MAX_UNSENT_REPLY_BYTES} of answers wait for the client to read
 * them, so a client that pipelines or floods is held back by TCP itself and
 * cannot make the server buffer its answers.
 *
 * While it waits for bytes the session is only a few fields and socket
 * listeners (no pending promise chain): idle connections stay cheap.
 */
export class ConnectionSession implements NativeSession, TransferHost {
  principal: Principal | undefined;
  /** Holds a place in the server's registry (set on admission, cleared on close). */
  admitted = false;
  private frames: FrameDecoder | undefined;
  private state: State = 'waiting';
  private ended = false;
  private closeRequested = false;
  private closeReason = '';
  private sessionLog: Log | undefined;
  private transfers: SessionTransfers | undefined;

  private idleTimer: Timer | undefined;
  private frameTimer: Timer | undefined;
  /** Runs while reading waits for unsent answers to drain (see {@link checkOutput}). */
  private outputTimer: Timer | undefined;
  /** Unsent bytes when the output timer was last armed: less at its next check means progress. */
  private unsentAtCheck = 0;
  /** Made on the first invalid frame: most sessions never send one. */
  private invalidFrames: InvalidFrames | undefined;
  /** Wakes a command waiting in {@link pull} for payload bytes. */
  private wake: (() => void) | undefined;
  /** The command running now, if any: done when its answer (or its failure) is out and logged. */
  private current: Promise<void> | undefined;

  constructor(
    readonly socket: Socket,
    readonly deps: SessionDeps,
    /** The client as a PROXY header named it; absent: the socket's own peer. */
    private readonly peer?: Peer,
  ) {
    (socket as SessionSocket)[SESSION] = this;
    // Errors are noted from the start; reading waits for run(), so a
    // connection that is refused never has a command decoded, let alone run.
    socket.on('error', onError);
  }

  /** @internal The frame decoder, made when the first bytes arrive. */
  get decoder(): FrameDecoder {
    this.frames ??= new FrameDecoder(this.deps.limits.maxClientFrameBytes);
    return this.frames;
  }

  /** `IP:PORT` of the client (derived, not stored: idle sessions stay small). */
  get remote(): string {
    if (this.peer) return `${this.peer.address}:${this.peer.port}`;
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** The client's IP, `::ffff:` stripped. */
  get ip(): string {
    return (this.peer?.address ?? this.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  }

  /** `Client-IP:PORT`, the label of this session's log lines. */
  get label(): string {
    return `Client-${this.remote}`;
  }

  /** This session's logger, made on first use (most idle sessions never log). */
  get log(): Log {
    this.sessionLog ??= this.deps.log.child(this.label);
    return this.sessionLog;
  }

  /** Bytes written to the client that it has not taken yet (what this session holds in memory for it). */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Resolves once no command runs (at once if none does): its answer, or its failure, is out and logged. */
  get settled(): Promise<void> {
    return this.current ?? Promise.resolve();
  }

  /** Why the session ended, once it has. */
  get endReason(): string {
    return this.closeReason || 'client closed the connection';
  }

  /** Greet the client and start serving; commands run as their bytes arrive. */
  async run(): Promise<void> {
    this.socket.setNoDelay(true);
    // A client may pipeline its commands and then half-close (`shutdown(SHUT_WR)`,
    // `nc -N`): each still gets its answer, and the session ends once the last
    // is written. By default Node would end our side at the peer's FIN and
    // fail every later write.
    this.socket.allowHalfOpen = true;
    this.socket.on('readable', onReadable);
    this.socket.on('end', onEnd);
    this.socket.on('close', onClose);
    this.socket.on('drain', onDrain);
    this.socket.write(this.deps.greeting);
    this.idleTimer = this.deps.clock.setTimer(this.deps.limits.idleTimeoutMs, onIdle, this);
    this.pump();
  }

  /** Record a successful login: later commands run as this user. */
  login(principal: Principal): void {
    this.principal = principal;
  }

  /**
   * Graceful shutdown: a session waiting for a command closes now; one in
   * the middle of a command closes as soon as that command is done.
   */
  shutdown(): void {
    this.closeRequested = true;
    this.noteReason('server shutting down');
    if (this.state === 'waiting') this.close();
  }

  /** End the connection at once, dropping anything in flight. */
  abort(reason: string): void {
    if (this.state === 'closed') {
      // Already closed and lingering for the peer's FIN (or for a client
      // that does not read its last answers): cut it now.
      this.socket.destroy();
      return;
    }
    this.log.warn(`Closing connection: ${reason}`);
    this.noteReason(reason);
    this.state = 'closed';
    this.clearTimers();
    this.socket.destroy();
  }

  /** Flush what was written, then close. Runs once. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    if (this.socket.destroyed) return;
    this.socket.end();
    // A peer that never sends its FIN must not keep the socket forever.
    const linger = this.deps.clock.setTimer(CLOSE_LINGER_MS, () => this.socket.destroy());
    this.socket.once('close', () => linger.cancel());
  }

  /** @internal Keep the first reason given for the end of the session. */
  noteReason(reason: string): void {
    this.closeReason ||= reason;
  }

  /** @internal The socket has bytes, or has ended. */
  readable(): void {
    const wake = this.wake;
    if (wake) {
      this.wake = undefined;
      wake();
    } else if (this.state === 'waiting') {
      this.pump();
    }
  }

  /** @internal The peer sent its FIN. */
  peerEnded(): void {
    this.ended = true;
    this.readable();
  }

  /** @internal The idle timer fired. */
  idle(): void {
    // Waiting for the client to read our answers is not idleness; the output
    // timer decides when that wait has gone on too long.
    if (this.outputTimer) {
      this.idleTimer?.refresh();
      return;
    }
    this.abort(`idle for ${this.deps.limits.idleTimeoutMs / 1000} s`);
  }

  /** @internal Everything written has reached the kernel: resume reading commands. */
  drained(): void {
    if (!this.outputTimer) return;
    this.outputTimer.cancel();
    this.outputTimer = undefined;
    this.touch();
    if (this.state === 'waiting') this.pump();
  }

  /**
   * @internal The output timer fired while commands wait for answers to
   * drain. Answers leave in whole writes; if none left in a whole transfer
   * timeout, the client is not reading: cut it, as a stalled download is.
   */
  checkOutput(): void {
    const timer = this.outputTimer;
    if (!timer) return;
    const unsent = this.socket.writableLength;
    if (unsent <= MAX_UNSENT_REPLY_BYTES) {
      this.drained();
    } else if (unsent < this.unsentAtCheck) {
      this.unsentAtCheck = unsent;
      timer.refresh();
    } else {
      this.abort(`answers unread for ${this.deps.limits.transferTimeoutMs / 1000} s`);
    }
  }

  /**
   * @internal Answer a frame that is not a command with its `400`; the
   * connection closes after the last one allowed (see {@link InvalidFrames}).
   */
  rejectInvalid(error: ProtocolError): void {
    this.invalidFrames ??= new InvalidFrames(this.log, this.deps.clock);
    const last = this.invalidFrames.record(error.message);
    this.sendError(error);
    if (!last) return;
    this.noteReason('too many invalid frames');
    this.close();
  }

  /** @internal The socket is gone. */
  socketClosed(): void {
    this.invalidFrames?.ended();
    this.deps.sessionClosed?.(this);
    this.ended = true;
    if (this.state !== 'running') this.state = 'closed';
    this.clearTimers();
    this.readable();
  }

  /** @internal The next chunk during a payload, or `null` once the peer is gone. */
  async pull(): Promise<Buffer | null> {
    for (;;) {
      if (this.socket.destroyed) return null;
      const chunk = this.socket.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** @internal Payload bytes moved: the connection is not idle. */
  touch(): void {
    this.idleTimer?.refresh();
  }

  /** @internal QUIT: close once the reply is out. */
  requestClose(reason: string): void {
    this.log.info(reason);
    this.closeRequested = true;
    this.closeReason = 'client quit';
  }

  /** @internal */
  send(message: object): void {
    if (this.socket.destroyed) return;
    this.socket.write(encodeFrame(message, this.deps.limits.maxServerFrameBytes));
  }

  /** @internal The channel GET and PUT use; made on the first command. */
  get channel(): SessionTransfers {
    this.transfers ??= new SessionTransfers(this);
    return this.transfers;
  }

  /** @internal */
  uncork(): void {
    if (this.socket.writableCorked > 0) this.socket.uncork();
  }

  /**
   * Decode and start commands while whole frames are buffered; read more
   * from the socket only when the decoder needs it. Returns when a command
   * is running (it resumes pumping when done) or when bytes run out.
   */
  private pump(): void {
    while (this.state === 'waiting') {
      if (this.outputBacklogged()) return;
      let frame;
      try {
        frame = this.frames?.next() ?? null;
      } catch (err) {
        this.framingFailed(err as FramingError);
        return;
      }
      if (frame) {
        this.frameTimer?.cancel();
        this.frameTimer = undefined;
        if (frame.kind === 'invalid') {
          this.rejectInvalid(frame.error);
          this.touch();
          continue;
        }
        this.state = 'running';
        const running: Promise<void> = runCommand(this, frame.message)
          .then(
            () => this.commandDone(),
            (err: unknown) => {
              // runCommand answers every failure itself; this is the guard for its own bugs.
              this.log.error('Session failed', err);
              this.abort('internal error');
            },
          )
          .finally(() => {
            if (this.current === running) this.current = undefined;
          });
        this.current = running;
        return;
      }
      const chunk = this.socket.read() as Buffer | null;
      if (chunk === null) {
        if (this.ended) {
          this.close();
        } else if (this.frames && this.frames.bufferedBytes > 0 && !this.frameTimer) {
          // A frame has started: it must now arrive whole in time (slow-loris guard).
          this.frameTimer = this.deps.clock.setTimer(this.deps.limits.frameTimeoutMs, () =>
            this.abort(`frame not complete within ${this.deps.limits.frameTimeoutMs / 1000} s`),
          );
        }
        return;
      }
      this.decoder.push(chunk);
    }
  }

  /**
   * True while more answers wait unsent than the bound: reading stops until
   * 'drain' (memory per connection stays bounded whatever the client
   * pipelines). The output timer runs meanwhile; the frame timer does not,
   * since a frame left half-read is now our doing, not the client's.
   */
  private outputBacklogged(): boolean {
    const unsent = this.socket.writableLength;
    if (unsent <= MAX_UNSENT_REPLY_BYTES) return false;
    if (!this.outputTimer) {
      this.frameTimer?.cancel();
      this.frameTimer = undefined;
      this.unsentAtCheck = unsent;
      this.outputTimer = this.deps.clock.setTimer(this.deps.limits.transferTimeoutMs, onOutputTimer, this);
    }
    return true;
  }

  private commandDone(): void {
    if (this.state !== 'running') return;
    this.state = 'waiting';
    this.touch();
    if (this.closeRequested || this.socket.destroyed) {
      this.close();
    } else {
      this.pump();
    }
  }

  private framingFailed(err: FramingError): void {
    this.log.warn(`Invalid command: ${err.message}; closing connection`);
    this.sendError(err);
    this.noteReason('framing error');
    this.close();
  }

  /** @internal */
  sendError(error: ProtocolError): void {
    this.send({ type: 'response', code: error.code, message: error.message });
  }

  private clearTimers(): void {
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    this.frameTimer?.cancel();
    this.frameTimer = undefined;
    this.outputTimer?.cancel();
    this.outputTimer = undefined;
  }
}
