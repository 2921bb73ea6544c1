import net from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { WAIT_MS } from './raw-connection';

type Message = Record<string, unknown>;

/**
 * A raw protocol client that reads from its socket only when asked: between
 * calls it takes nothing, so once the kernel's receive buffer is full the
 * server can send no more (a client with a tiny receive buffer, or one that
 * never reads). Unlike `RawConnection` it never piles up what the server sends,
 * so reading back hundreds of megabytes stays linear. Every wait is bounded.
 */
export class PullConnection {
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024);
  private ended = false;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    const poke = () => {
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };
    socket.on('readable', poke);
    socket.on('end', () => {
      this.ended = true;
      poke();
    });
    socket.on('close', () => {
      this.ended = true;
      poke();
    });
    socket.on('error', () => {});
  }

  /** Connect to 127.0.0.1 and read the greeting. */
  static async open(port: number): Promise<{ conn: PullConnection; greeting: Message }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const conn = new PullConnection(socket);
    return { conn, greeting: await conn.frame() };
  }

  get closed(): boolean {
    return this.ended;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  command(command: string, fields: object = {}): void {
    this.write(encodeFrame({ type: 'command', command, ...fields }));
  }

  async request(command: string, fields: object = {}): Promise<Message> {
    this.command(command, fields);
    return this.frame();
  }

  /** The next frame; rejects if the connection ends or `timeoutMs` passes first. */
  frame(timeoutMs = WAIT_MS): Promise<Message> {
    return this.until(timeoutMs, () => {
      const frame = this.decoder.next();
      if (!frame) return undefined;
      if (frame.kind !== 'message') throw new Error('server sent an invalid frame');
      return frame.message;
    });
  }

  /** Exactly `n` payload bytes. */
  async bytes(n: number, timeoutMs = WAIT_MS): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    await this.until(timeoutMs, () => {
      for (let part = this.decoder.takeRaw(n - have); part; part = this.decoder.takeRaw(n - have)) {
        parts.push(part);
        have += part.length;
      }
      return have === n ? true : undefined;
    });
    return Buffer.concat(parts, n);
  }

  /** Take exactly `n` payload bytes without keeping them, handing each piece to `onChunk` (to hash a big download). */
  async consume(n: number, onChunk: (piece: Buffer) => void, timeoutMs = WAIT_MS): Promise<void> {
    let have = 0;
    await this.until(timeoutMs, () => {
      for (let part = this.decoder.takeRaw(n - have); part; part = this.decoder.takeRaw(n - have)) {
        onChunk(part);
        have += part.length;
      }
      return have === n ? true : undefined;
    });
  }

  /** Resolves once the server has closed the connection (reading and dropping what is left). */
  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    await this.until(
      timeoutMs,
      () => {
        this.decoder.takeRaw(Number.MAX_SAFE_INTEGER);
        return this.ended ? true : undefined;
      },
      true,
    );
  }

  close(): void {
    this.socket.destroy();
  }

  /** Poll `take`; read one more chunk from the socket only when it needs more. */
  private async until<T>(timeoutMs: number, take: () => T | undefined, allowEnd = false): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      const chunk = this.socket.read() as Buffer | null;
      if (chunk !== null) {
        this.decoder.push(chunk);
        continue;
      }
      if (this.ended && !allowEnd) throw new Error('connection closed by the server');
      if (this.ended) return take() as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
