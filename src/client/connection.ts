import net from 'node:net';
import tls from 'node:tls';
import { FrameDecoder, LENGTH_PREFIX_BYTES } from '../protocol/frame-decoder';
import { encodeFrame, FrameTooLargeError } from '../protocol/frame-encoder';
import { DEFAULT_LIMITS } from '../config/defaults';
import { systemClock, type Clock, type Timer } from '../util/clock';
import { FtpError, networkError, tlsError } from './errors';

/** Where to connect and how long to wait for the peer. */
export interface ConnectionOptions {
  host: string;
  port: number;
  /** Give up when the server sends or accepts no byte for this long (default 30 s). */
  timeoutMs?: number;
  /** Largest server frame accepted (default: the contract's 16 MiB). */
  maxFrameBytes?: number;
  /** Time source for the timeouts; tests may pass a fake one. */
  clock?: Clock;
  /**
   * Speak TLS (1.2 or later). The server's certificate is always checked,
   * against the system's CAs or, when given, against `ca` only.
   */
  tls?: TlsClientOptions;
}

/** How to trust the server on a TLS connection. */
export interface TlsClientOptions {
  /** PEM certificate(s) to trust instead of the system's CAs (a self-signed server's cert.pem). */
  ca?: string | Buffer;
  /** Name to check the certificate against (default: `host`). */
  servername?: string;
}

/** Default for {@link ConnectionOptions.timeoutMs}. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;

/**
 * One TCP connection to the server, seen as frames and raw payload bytes.
 *
 * Reading is pull-based: the socket stays paused and is resumed only while a
 * caller waits for bytes, then paused again as soon as a chunk arrives. So a
 * fast server can never make the client buffer more than one chunk beyond
 * what the caller consumed, and a slow disk on this side slows the sender
 * down through TCP instead of filling memory.
 *
 * Any fault (socket error, peer close, timeout, a broken frame) goes through
 * one idempotent {@link Connection.close} path that rejects whoever waits
 * and every later call with the same typed error.
 */
export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  /** Bytes received and not consumed yet, kept as chunks (see {@link takeFrame}). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private failure: FtpError | null = null;
  private waiter: { resolve: () => void; reject: (err: FtpError) => void } | null = null;
  private readonly clientFrameLimit = DEFAULT_LIMITS.maxClientFrameBytes;

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    maxFrameBytes: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.maxFrameBytes = maxFrameBytes;
    // A header frame, a small payload and a trailer as separate small writes
    // would each wait for a delayed ACK under Nagle's algorithm.
    socket.setNoDelay(true);
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      socket.pause();
      this.wake();
    });
    socket.on('drain', () => this.wake());
    socket.on('end', () => this.close(new FtpError('network', 'connection closed by the server')));
    socket.on('error', (err) => this.close(networkError(err)));
    socket.on('close', () => this.close(new FtpError('network', 'connection closed')));
  }

  /** Open a TCP connection; rejects with a typed `network` or `timeout` error. */
  static open(options: ConnectionOptions): Promise<Connection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    const clock = options.clock ?? systemClock;
    const where = `cannot connect to ${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const secure = options.tls;
      const socket = secure
        ? tls.connect({
            host: options.host,
            port: options.port,
            minVersion: 'TLSv1.2',
            // Never turned off: a certificate that fails the check is a refusal.
            rejectUnauthorized: true,
            ...(secure.ca !== undefined ? { ca: secure.ca } : {}),
            // SNI takes host names only; an IP is still checked against the certificate's IP names.
            ...sniFor(options.host, secure.servername),
          })
        : net.connect({ host: options.host, port: options.port });
      const timer = clock.setTimer(timeoutMs, () => {
        socket.destroy();
        reject(new FtpError('timeout', `${where}: no answer within ${seconds(timeoutMs)}`));
      });
      const onError = (err: Error): void => {
        timer.cancel();
        reject(secure ? tlsError(err, where) : networkError(err, where));
      };
      socket.once('error', onError);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        timer.cancel();
        socket.off('error', onError);
        resolve(new Connection(socket, timeoutMs, clock, options.maxFrameBytes ?? DEFAULT_LIMITS.maxServerFrameBytes));
      });
    });
  }

  /** True once the connection failed or was closed; every call then rejects. */
  get closed(): boolean {
    return this.failure !== null;
  }

  /** Why the connection is closed, or `null` while it is open. */
  get closeReason(): FtpError | null {
    return this.failure;
  }

  /** Send one message as a frame. */
  async send(message: object): Promise<void> {
    let frame: Buffer;
    try {
      frame = encodeFrame(message, this.clientFrameLimit);
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        throw new FtpError('bad_request', `request too large (${err.bytes} bytes, limit ${err.limit})`);
      }
      throw err;
    }
    await this.write(frame);
  }

  /** Write raw bytes, waiting for `drain` when the socket's buffer is full. */
  async write(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.socket.write(bytes)) await this.wait(false);
  }

  /**
   * The next frame from the server, as a JSON object.
   * Frames already buffered are returned even after the peer closed, so a
   * final answer that arrived with the FIN is not lost.
   */
  async readMessage(): Promise<Record<string, unknown>> {
    for (;;) {
      let frame;
      try {
        frame = this.takeFrame();
      } catch (err) {
        throw this.close(new FtpError('protocol', `bad frame from the server: ${(err as Error).message}`));
      }
      if (frame?.kind === 'message') return frame.message;
      if (frame?.kind === 'invalid') {
        // We cannot tell which request it answered, so the replies are out of step.
        throw this.close(new FtpError('protocol', `bad frame from the server: ${frame.error.message}`));
      }
      await this.wait(true);
    }
  }

  /**
   * Pull exactly `length` raw payload bytes, handing each piece to `sink`
   * and waiting for it before reading more (backpressure). Bytes that came in
   * the same chunk as the preceding frame are handed over first.
   */
  async readPayload(length: number, sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    let remaining = length;
    while (remaining > 0) {
      const bytes = this.takeBytes(remaining);
      if (bytes) {
        remaining -= bytes.length;
        await sink(bytes);
      } else {
        await this.wait(true);
      }
    }
  }

  /**
   * Hand the decoder one whole frame at a time. Feeding it every 64 KiB
   * chunk of a 16 MiB listing would re-copy its growing buffer on each push
   * (quadratic); here the chunks wait until the length prefix says the frame
   * is complete, then go in with a single concatenation. A prefix that breaks
   * the limits goes in at once, so the decoder rejects it.
   */
  private takeFrame(): ReturnType<FrameDecoder['next']> {
    if (this.chunkBytes < LENGTH_PREFIX_BYTES) return null;
    let head = this.chunks[0];
    if (head.length < LENGTH_PREFIX_BYTES) head = Buffer.concat(this.chunks, Math.min(this.chunkBytes, 64));
    const length = head.readUInt32BE(0);
    const valid = length >= 2 && length <= this.maxFrameBytes;
    if (valid && this.chunkBytes < LENGTH_PREFIX_BYTES + length) return null;
    this.decoder.push(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.chunkBytes));
    this.chunks = [];
    this.chunkBytes = 0;
    const frame = this.decoder.next();
    // Whatever followed the frame (payload bytes, the next frame) comes back
    // out of the decoder without a copy.
    const rest = this.decoder.takeRaw(this.decoder.bufferedBytes);
    if (rest) {
      this.chunks.push(rest);
      this.chunkBytes = rest.length;
    }
    return frame;
  }

  /** Up to `max` buffered bytes, without copying; `null` when none. */
  private takeBytes(max: number): Buffer | null {
    const first = this.chunks[0];
    if (!first) return null;
    if (first.length <= max) {
      this.chunks.shift();
      this.chunkBytes -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.chunkBytes -= max;
    return first.subarray(0, max);
  }

  /** Half-close politely (after `QUIT`); the peer's close finishes the job. */
  end(): void {
    if (!this.failure) this.socket.end();
  }

  /**
   * The one close path: record why, destroy the socket, reject the waiter.
   * Safe to call any number of times; the first reason is the one later
   * calls reject with.
   * @returns `reason`, so callers can `throw conn.close(err)` and report
   *   their own error even when the peer's close was noticed first.
   */
  close(reason: FtpError = new FtpError('closed', 'connection closed by the client')): FtpError {
    if (!this.failure) {
      this.failure = reason;
      this.socket.destroy();
    }
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(this.failure);
    return reason;
  }

  /** Wait for the next chunk (`read`) or for `drain`, bounded by the timeout. */
  private wait(read: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = this.clock.setTimer(this.timeoutMs, () => {
        const what = read ? 'no data from the server' : 'the server stopped reading';
        this.close(new FtpError('timeout', `timed out: ${what} for ${seconds(this.timeoutMs)}`));
      });
      this.waiter = {
        resolve: () => { timer.cancel(); resolve(); },
        reject: (err) => { timer.cancel(); reject(err); },
      };
      if (read) this.socket.resume();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve();
  }
}

/** The `servername` option: a name to send as SNI and check, never an IP. */
function sniFor(host: string, servername: string | undefined): { servername?: string } {
  const name = servername ?? host;
  return net.isIP(name) ? {} : { servername: name };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
