import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { FrameDecoder } from '../protocol/frame-decoder';
import type { OpenedFile, SmallFile } from '../storage/storage';
import type { Timer } from '../util/clock';
import type { SessionChannel } from './commands/command';
import type { SessionDeps } from './connection-session';
import { sendFileRange, TransferAbortedError } from './payload';
import { receivePayload, type ReceivedPayload } from './upload-receiver';

/** Payloads up to this size go out in the same write as their header and trailer. */
export const SMALL_PAYLOAD_BYTES = 64 * 1024;

/** Ranges at least this large are hashed on the worker thread, off the event loop. */
const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** What the transfers need from their session. */
export interface TransferHost {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  readonly deps: SessionDeps;
  send(message: object): void;
  /** The next chunk from the socket during a payload, or `null` once the peer is gone. */
  pull(): Promise<Buffer | null>;
  /** Bytes moved: push back the idle deadline. */
  touch(): void;
  /** End the connection now (a stalled payload). */
  abort(reason: string): void;
  requestClose(reason: string): void;
  uncork(): void;
}

/**
 * The payload side of a session (the channel GET and PUT use): streaming a
 * file out, receiving an upload, each with a stall timer. Created on a
 * session's first command, so idle connections never pay for it.
 */
export class SessionTransfers implements SessionChannel {
  constructor(private readonly host: TransferHost) {}

  send(message: object): void {
    this.host.send(message);
  }

  endAfterReply(): void {
    const { remoteAddress, remotePort } = this.host.socket;
    this.host.requestClose(`Client ${remoteAddress}:${remotePort} requested disconnect`);
  }

  async sendFile(file: OpenedFile | SmallFile, offset: number): Promise<{ bytes: number; sha256: string }> {
    const { socket, deps } = this.host;
    const length = file.size - offset;
    if ('data' in file) {
      // Already in memory: the session's cork sends header, payload and trailer as one write.
      const payload = file.data.subarray(offset);
      socket.write(payload);
      return { bytes: length, sha256: this.digestOf(payload, offset === 0 ? file.versionKey : undefined) };
    }
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
      socket.write(buffer);
      return { bytes: length, sha256: this.digestOf(buffer, offset === 0 ? file.versionKey : undefined) };
    }
    this.host.uncork();
    // Whole-file digests are cached per file version; a large range is hashed
    // on the worker thread while this thread sends; a medium one inline.
    const cacheable = offset === 0;
    const cached = cacheable ? deps.digests.get(file.versionKey) : undefined;
    const offThread = cached === undefined && length >= WORKER_HASH_MIN_BYTES;
    const digest =
      cached !== undefined
        ? Promise.resolve(cached)
        : offThread
          ? deps.hasher.hashRange(file.handle.fd, offset, file.size)
          : undefined;
    // A failed send must not leave the hash job's rejection unhandled.
    digest?.catch(() => undefined);
    const stall = this.stallGuard('download');
    try {
      const sent = await sendFileRange(socket, file.handle, offset, file.size, () => this.progress(stall), digest === undefined);
      const sha256 = sent.sha256 ?? (await digest!);
      if (cacheable && cached === undefined) deps.digests.set(file.versionKey, sha256);
      return { bytes: sent.bytes, sha256 };
    } finally {
      stall.cancel();
      socket.cork();
    }
  }

  async receive(size: number, sink: Writable): Promise<ReceivedPayload> {
    // The client waits for `150` before sending: flush it now.
    this.host.uncork();
    const stall = this.stallGuard('upload');
    try {
      return await receivePayload(this.host.decoder, this.host, size, sink, () => this.progress(stall), this.host.deps.uploadHasher);
    } finally {
      stall.cancel();
      this.host.socket.cork();
    }
  }

  /** SHA-256 of a small payload, from the cache when it is a whole known file version. */
  private digestOf(payload: Buffer, versionKey: string | undefined): string {
    const { digests } = this.host.deps;
    const cached = versionKey === undefined ? undefined : digests.get(versionKey);
    if (cached !== undefined) return cached;
    const sha256 = createHash('sha256').update(payload).digest('hex');
    if (versionKey !== undefined) digests.set(versionKey, sha256);
    return sha256;
  }

  private progress(stall: Timer): void {
    stall.refresh();
    this.host.touch();
  }

  /** A timer that ends the connection if a payload stops moving. */
  private stallGuard(what: string): Timer {
    const { limits, clock } = this.host.deps;
    return clock.setTimer(limits.transferTimeoutMs, () =>
      this.host.abort(`${what} stalled for ${limits.transferTimeoutMs / 1000} s`),
    );
  }
}
