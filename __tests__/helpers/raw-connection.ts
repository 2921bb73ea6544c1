import net from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { encodeFrame } from '../../src/protocol/frame-encoder';

/**
 * How long a wait for the server may take before the test gives up. It
 * guards against hangs, it does not measure speed: on a busy 2-core CI a
 * healthy answer has been seen to take over 5 s, so the margin is wide.
 */
export const WAIT_MS = 15_000;

type Message = Record<string, unknown>;

/**
 * A bare socket speaking the protocol byte by byte, for tests that must send
 * what no well-behaved client would. Every wait is bounded.
 */
export class RawConnection {
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024);
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.decoder.push(chunk);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Speak the protocol over a socket already connected (a TLS socket, or one past a PROXY header). */
  static over(socket: net.Socket): RawConnection {
    return new RawConnection(socket);
  }

  static connect(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Connect and consume the greeting. */
  static async open(port: number): Promise<{ conn: RawConnection; greeting: Message }> {
    const conn = await RawConnection.connect(port);
    const greeting = await conn.frame();
    return { conn, greeting };
  }

  get closed(): boolean {
    return this.ended;
  }

  send(message: object): void {
    this.socket.write(encodeFrame(message));
  }

  command(command: string, fields: object = {}): void {
    this.send({ type: 'command', command, ...fields });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Send a command and return its one response frame. */
  async request(command: string, fields: object = {}): Promise<Message> {
    this.command(command, fields);
    return this.frame();
  }

  /** The next frame; rejects if the connection closes or `timeoutMs` passes first. */
  async frame(timeoutMs = WAIT_MS): Promise<Message> {
    return this.until(timeoutMs, () => {
      const frame = this.decoder.next();
      if (!frame) return undefined;
      if (frame.kind !== 'message') throw new Error('server sent an invalid frame');
      return frame.message;
    });
  }

  /** Exactly `n` raw bytes. */
  async bytes(n: number, timeoutMs = WAIT_MS): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    await this.until(timeoutMs, () => {
      for (let part = this.decoder.takeRaw(n - have); part; part = this.decoder.takeRaw(n - have)) {
        parts.push(Buffer.from(part));
        have += part.length;
      }
      return have === n ? true : undefined;
    });
    return Buffer.concat(parts);
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    await this.until(timeoutMs, () => (this.ended ? true : undefined), true);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async until<T>(timeoutMs: number, poll: () => T | undefined, allowEnd = false): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = poll();
      if (value !== undefined) return value;
      if (this.ended && !allowEnd) throw new Error('connection closed by the server');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
