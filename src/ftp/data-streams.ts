/**
 * A data connection as the transfer layer takes it: upload bytes as a
 * {@link ChunkSource} pulled with backpressure, and, in TYPE A, downloads
 * through a writer that converts line ends on the way to the socket.
 *
 * FTP's stream mode has one end-of-file signal: the sender closes the data
 * connection (RFC 959 §3.4.1). So a clean end (FIN, or TLS close_notify)
 * is the end of an upload, and anything else (a reset, our own abort, the
 * stall timer destroying the socket) is an aborted upload that must not be
 * published: the source tells the two apart.
 */
import type { Socket } from 'node:net';
import { type Readable, Writable } from 'node:stream';
import { TransferAbortedError } from '../core/errors';
import type { ChunkSource } from '../core/payload';
import { CrlfEncoder } from './ascii';

/**
 * Pull chunks of at most `max` bytes from `readable` (a data socket, or the
 * TYPE A converter fed by one), in paused mode, so TCP holds the client
 * back while the storage catches up. `null` after a clean end; a
 * {@link TransferAbortedError} when the stream closed without one.
 */
export function readableSource(readable: Readable): ChunkSource {
  let ended = false;
  let failed = false;
  let received = 0;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  readable.on('readable', poke);
  readable.once('end', () => {
    ended = true;
    poke();
  });
  readable.once('close', () => {
    if (!ended) failed = true;
    poke();
  });
  readable.on('error', () => {
    failed = true;
    poke();
  });
  return {
    async pull(max: number): Promise<Buffer | null> {
      for (;;) {
        if (failed) throw new TransferAbortedError('connection closed during upload', received);
        const chunk = readable.read() as Buffer | null;
        if (chunk !== null) {
          if (chunk.length > max) {
            readable.unshift(chunk.subarray(max));
            received += max;
            return chunk.subarray(0, max);
          }
          received += chunk.length;
          return chunk;
        }
        if (ended) return null;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/**
 * Downloads in TYPE A: a writer in front of the data socket that turns LF
 * into CRLF (see `ascii.ts`). A chunk's write callback fires when the socket
 * has taken the converted bytes, as the socket's own does, so a sender that
 * recycles its buffers on that callback keeps its backpressure. The
 * converted bytes are always a copy: the sender may reuse its buffer as
 * soon as the callback fires.
 */
export class AsciiSink extends Writable {
  private readonly encoder = new CrlfEncoder();

  constructor(private readonly socket: Socket) {
    super({ highWaterMark: 64 * 1024 });
    socket.once('close', () => this.destroy());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const encoded = this.encoder.encode(chunk);
    const out = encoded === chunk ? Buffer.from(chunk) : encoded;
    if (this.socket.destroyed) return done(new Error('data connection closed'));
    this.socket.write(out, (err) => done(err ?? null));
  }

  override _final(done: (err?: Error | null) => void): void {
    done();
  }
}

/** Wait until `socket` ends cleanly after everything written was flushed to the system. */
export function endAndFlush(socket: Socket | Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('data connection closed'));
    const onClose = (): void => reject(new Error('data connection closed'));
    socket.once('close', onClose);
    socket.end(() => {
      socket.off('close', onClose);
      resolve();
    });
  });
}
