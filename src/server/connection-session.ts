import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { ServerLimits } from '../config/defaults';
import type { Log } from '../logging/log';
import { suppressedNote, type LogThrottle } from '../logging/throttle';
import { AuthRequiredError, ForbiddenError, FramingError, ProtocolError, toProtocolError } from '../protocol/errors';
import { FrameDecoder, type DecodedFrame } from '../protocol/frame-decoder';
import { encodeFrame } from '../protocol/frame-encoder';
import { parseCommand } from '../protocol/messages';
import type { OpenedFile, Storage } from '../storage/storage';
import type { Clock, Timer } from '../util/clock';
import type { CommandContext, CommandHandler, SessionChannel } from './commands/command';
import { fieldForLog } from './commands/command';
import type { CommandRegistry } from './commands';
import { receivePayload, sendFileRange, TransferAbortedError, type ReceivedPayload } from './payload';
import { SocketReader } from './socket-reader';
import type { DigestCache } from './digest-cache';
import type { Authenticator, Principal, SessionInfo } from './access';
import type { ServerObserver } from './observer';
import type { HashWorker } from './hash-worker';

/** Payloads up to this size go out in the same write as their header and trailer. */
const SMALL_PAYLOAD_BYTES = 64 * 1024;

/** Ranges at least this large are hashed on the worker thread, off the event loop. */
const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** How long a closing connection may linger for the peer's FIN before it is cut. */
const CLOSE_LINGER_MS = 5_000;

/** What a session needs from the server, passed in. */
export interface SessionDeps {
  storage: Storage;
  /** The server's logger; the session logs through a child labelled with the client. */
  log: Log;
  limits: ServerLimits;
  clock: Clock;
  commands: CommandRegistry;
  /** Digests of whole files already hashed, by file version. */
  digests: DigestCache;
  /** Keeps floods of identical log lines (out of descriptors) in check. */
  throttle: LogThrottle;
  /** Hashes large downloads on another thread. */
  hasher: HashWorker;
  /** The greeting frame sent first on the connection. */
  greeting: object;
  /** Checks credentials; absent when accounts are off. */
  authenticator?: Authenticator;
  /** Metrics and transfer-log hooks. */
  observer: ServerObserver;
}

/**
 * One client connection: reads one command at a time, runs it to the end
 * (payload and trailer included), then reads the next. Nothing is read from
 * the socket while a command runs.
 */
export class ConnectionSession {
  /** `Client-IP:PORT`, the label of this session's log lines. */
  readonly label: string;
  readonly log: Log;
  private readonly decoder: FrameDecoder;
  private readonly reader: SocketReader;
  private readonly channel: SessionChannel;
  private readonly info: SessionInfo;
  private principal: Principal | undefined;
  private idleTimer: Timer | undefined;
  private frameTimer: Timer | undefined;
  private running = false;
  private closeRequested = false;
  private closed = false;
  private closeReason = '';

  constructor(
    private readonly socket: Socket,
    private readonly deps: SessionDeps,
  ) {
    this.label = `Client-${socket.remoteAddress}:${socket.remotePort}`;
    this.log = deps.log.child(this.label);
    this.decoder = new FrameDecoder(deps.limits.maxClientFrameBytes);
    this.reader = new SocketReader(socket);
    this.channel = this.makeChannel();
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const ip = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    this.info = {
      remote,
      ip,
      principal: undefined,
      login: (principal) => {
        this.principal = principal;
        (this.info as { principal: Principal | undefined }).principal = principal;
      },
    };
    socket.setNoDelay(true);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Resets and broken pipes are how clients often leave; not an error of ours.
      this.closeReason ||= `socket error ${err.code ?? err.message}`;
    });
  }

  /** True while a command (a transfer, say) is in progress. */
  get busy(): boolean {
    return this.running;
  }

  /** Why the session ended, once it has. */
  get endReason(): string {
    return this.closeReason || 'client closed the connection';
  }

  /** Greet the client, then serve commands until the connection ends. */
  async run(): Promise<void> {
    this.send(this.deps.greeting);
    this.idleTimer = this.deps.clock.setTimer(this.deps.limits.idleTimeoutMs, () =>
      this.abort(`idle for ${this.deps.limits.idleTimeoutMs / 1000} s`),
    );
    try {
      while (!this.closed && !this.closeRequested) {
        const frame = await this.nextFrame();
        if (!frame) break;
        if (frame.kind === 'invalid') {
          this.log.warn(`Invalid command: ${frame.error.message}`);
          this.sendError(frame.error);
        } else {
          await this.execute(frame.message);
        }
        this.idleTimer.refresh();
      }
    } catch (err) {
      if (err instanceof FramingError) {
        this.log.warn(`Invalid command: ${err.message}; closing connection`);
        this.sendError(err);
        this.closeReason = 'framing error';
      } else {
        this.log.error('Session failed', err);
        this.closeReason = 'internal error';
      }
    } finally {
      this.close();
    }
  }

  /**
   * Graceful shutdown: a session waiting for a command closes now; one in
   * the middle of a command closes as soon as that command is done.
   */
  shutdown(): void {
    this.closeRequested = true;
    this.closeReason ||= 'server shutting down';
    if (!this.running) this.close();
  }

  /** End the connection at once, dropping anything in flight. */
  abort(reason: string): void {
    if (this.closed) return;
    this.log.warn(`Closing connection: ${reason}`);
    this.closeReason ||= reason;
    this.closed = true;
    this.clearTimers();
    this.socket.destroy();
  }

  /** Flush what was written, then close. Runs once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.socket.end();
    // A peer that never sends its FIN must not keep the socket forever.
    const linger = this.deps.clock.setTimer(CLOSE_LINGER_MS, () => this.socket.destroy());
    this.socket.once('close', () => linger.cancel());
  }

  private clearTimers(): void {
    this.idleTimer?.cancel();
    this.frameTimer?.cancel();
    this.frameTimer = undefined;
  }

  /** The next frame, reading from the socket only when the decoder needs bytes. */
  private async nextFrame(): Promise<DecodedFrame | null> {
    for (;;) {
      const frame = this.decoder.next();
      if (frame) {
        this.frameTimer?.cancel();
        this.frameTimer = undefined;
        return frame;
      }
      if (this.decoder.bufferedBytes > 0 && !this.frameTimer) {
        // A frame has started: it must now arrive whole in time (slow-loris guard).
        this.frameTimer = this.deps.clock.setTimer(this.deps.limits.frameTimeoutMs, () =>
          this.abort(`frame not complete within ${this.deps.limits.frameTimeoutMs / 1000} s`),
        );
      }
      const chunk = await this.reader.read();
      if (!chunk || this.closed) return null;
      this.decoder.push(chunk);
    }
  }

  /** Run one command and send its answer; every error maps to a response here. */
  private async execute(message: Record<string, unknown>): Promise<void> {
    let handler: CommandHandler | undefined;
    let code = 200;
    const started = this.deps.clock.now();
    this.running = true;
    // Corked, a small reply (header, payload, trailer) leaves in one write.
    this.socket.cork();
    try {
      const { name, fields } = parseCommand(message);
      handler = this.deps.commands.get(name);
      if (!handler) {
        throw new ProtocolError(400, `Unknown command: ${fieldForLog({ name }, 'name')}`);
      }
      const target = handler.target(fields);
      this.log.info(`Command: ${handler.name}${target ? ` ${target}` : ''}`);
      this.authorize(handler);
      const context: CommandContext = {
        fields,
        storage: this.principal?.storage ?? this.deps.storage,
        log: this.log,
        limits: this.deps.limits,
        clock: this.deps.clock,
        channel: this.channel,
        digests: this.deps.digests,
        session: this.info,
        authenticator: this.deps.authenticator,
        observer: this.deps.observer,
      };
      const reply = await handler.run(context);
      if (reply) {
        code = reply.code;
        this.send({ type: 'response', ...reply });
      }
    } catch (err) {
      code = this.handleFailure(err, handler, message);
    } finally {
      this.uncork();
      this.running = false;
      this.deps.observer.command?.(handler?.name ?? 'INVALID', code, this.deps.clock.now() - started);
    }
  }

  /** Cross-cutting checks, driven by each command's declared flags. */
  private authorize(handler: CommandHandler): void {
    if (handler.public) return;
    if (this.deps.authenticator?.required && !this.principal) throw new AuthRequiredError('Authentication required: send AUTH first');
    if (this.principal && handler.permission && !this.principal.permissions.has(handler.permission)) {
      throw new ForbiddenError(`Permission denied: ${handler.permission} is not allowed for this user`);
    }
  }

  /** Log a failed command at the right level and answer it; returns the code. */
  private handleFailure(err: unknown, handler: CommandHandler | undefined, message: Record<string, unknown>): number {
    if (err instanceof TransferAbortedError) {
      // Mid-payload the stream is out of step: no response can be trusted, close.
      const reason = `${handler?.name ?? 'transfer'} aborted: ${err.message}`;
      if (this.socket.destroyed) this.closeReason ||= reason;
      else this.abort(reason);
      return 0;
    }
    const failure = toProtocolError(err);
    const name = handler?.name;
    const target = handler?.target(message);
    if (!name) {
      this.log.warn(`Invalid command: ${failure.message}`);
    } else if (isOutOfDescriptors(err)) {
      // Every session hits this at once when it happens: say it once per interval.
      const suppressed = this.deps.throttle.admit('descriptors');
      if (suppressed !== undefined) {
        this.log.error(`${name}: Out of file descriptors; answering 500 until some close${suppressedNote(suppressed)}`);
      }
    } else if (!(err instanceof ProtocolError)) {
      this.log.error(`${name}: Internal error${target ? ` - ${target}` : ''}`, err);
    } else if (failure.code >= 500) {
      this.log.error(`${name}: ${failure.message}${target ? ` - ${target}` : ''}`);
    } else {
      const what = failure.code === 404 ? (name === 'GET' ? 'File not found' : 'Not found') : failure.message;
      this.log.warn(`${name}: ${what}${target ? ` - ${target}` : ''}`);
    }
    this.sendError(failure);
    return failure.code;
  }

  private uncork(): void {
    if (this.socket.writableCorked > 0) this.socket.uncork();
  }

  private send(message: object): void {
    if (this.socket.destroyed) return;
    this.socket.write(encodeFrame(message, this.deps.limits.maxServerFrameBytes));
  }

  private sendError(error: ProtocolError): void {
    this.send({ type: 'response', code: error.code, message: error.message });
  }

  /** Start a timer that ends the connection if a payload stops moving. */
  private stallGuard(what: string): Timer {
    const seconds = this.deps.limits.transferTimeoutMs / 1000;
    return this.deps.clock.setTimer(this.deps.limits.transferTimeoutMs, () =>
      this.abort(`${what} stalled for ${seconds} s`),
    );
  }

  private makeChannel(): SessionChannel {
    return {
      send: (message) => this.send(message),
      endAfterReply: () => {
        this.log.info(`Client ${this.socket.remoteAddress}:${this.socket.remotePort} requested disconnect`);
        this.closeRequested = true;
        this.closeReason = 'client quit';
      },
      sendFile: (file, offset) => this.sendFile(file, offset),
      receive: (size, sink) => this.receive(size, sink),
    };
  }

  private async sendFile(file: OpenedFile, offset: number): Promise<{ bytes: number; sha256: string }> {
    const length = file.size - offset;
    if (length <= SMALL_PAYLOAD_BYTES) {
      // Small: read it whole (bounded by the threshold) and let the cork send
      // header, payload and trailer as one write.
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await file.handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new TransferAbortedError('file shrank during download', 0);
        filled += bytesRead;
      }
      this.socket.write(buffer);
      return { bytes: length, sha256: createHash('sha256').update(buffer).digest('hex') };
    }
    this.uncork();
    // Whole-file digests are cached per file version; a large range is hashed
    // on the worker thread while this thread sends; a medium one inline.
    const cacheable = offset === 0;
    const cached = cacheable ? this.deps.digests.get(file.versionKey) : undefined;
    const offThread = cached === undefined && length >= WORKER_HASH_MIN_BYTES;
    const digest = cached !== undefined
      ? Promise.resolve(cached)
      : offThread
        ? this.deps.hasher.hashRange(file.handle.fd, offset, file.size)
        : undefined;
    // A failed send must not leave the hash job's rejection unhandled.
    digest?.catch(() => undefined);
    const stall = this.stallGuard('download');
    try {
      const sent = await sendFileRange(this.socket, file.handle, offset, file.size, () => {
        stall.refresh();
        this.idleTimer?.refresh();
      }, digest === undefined);
      const sha256 = sent.sha256 ?? (await digest!);
      if (cacheable && cached === undefined) this.deps.digests.set(file.versionKey, sha256);
      return { bytes: sent.bytes, sha256 };
    } finally {
      stall.cancel();
      this.socket.cork();
    }
  }

  private async receive(size: number, sink: Writable): Promise<ReceivedPayload> {
    // The client waits for `150` before sending: flush it now.
    this.uncork();
    const stall = this.stallGuard('upload');
    try {
      return await receivePayload(this.decoder, this.reader, size, sink, () => {
        stall.refresh();
        this.idleTimer?.refresh();
      });
    } finally {
      stall.cancel();
      this.socket.cork();
    }
  }
}

/** EMFILE/ENFILE: the process or the system ran out of file descriptors. */
function isOutOfDescriptors(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}
