import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { FrameDecoder } from '../protocol/frame-decoder';
import type { OpenedFile, SmallFile } from '../storage/storage';
import type { Timer } from '../util/clock';
import type { SessionChannel } from './commands/command';
import type { SessionDeps } from './connection-session';
import type { DigestTicket } from '../core/hash-worker';
import { receivePayload, sendFileRange, TransferAbortedError, type ReceivedPayload } from './payload';

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
    // Whole-file digests are cached per file version. Otherwise a large range
    // is hashed on the worker thread while this thread sends (sharing the job
    // of any other download of the same bytes), unless the worker's queue is
    // full; then, like a medium range, it is hashed inline as it is sent.
    const cacheable = offset === 0;
    const cached = cacheable ? deps.digests.get(file.versionKey) : undefined;
    const ticket =
      cached === undefined && length >= WORKER_HASH_MIN_BYTES
        ? deps.hasher.request(file.versionKey, file.handle.fd, offset, file.size)
        : undefined;
    try {
      const stall = this.stallGuard('download');
      let sent: { bytes: number; sha256?: string };
      try {
        sent = await sendFileRange(socket, file.handle, offset, file.size, () => this.progress(stall), cached === undefined && !ticket);
      } catch (err) {
        // The job may read through this download's descriptor, which the
        // command closes once we return: let go of it first.
        await ticket?.leave();
        throw err;
      } finally {
        // Every byte is out (or the send failed): waiting for the digest is
        // not a stalled payload.
        stall.cancel();
      }
      const sha256 = sent.sha256 ?? cached ?? (await this.awaitDigest(ticket!, sent.bytes));
      if (cacheable && cached === undefined) deps.digests.set(file.versionKey, sha256);
      return { bytes: sent.bytes, sha256 };
    } finally {
      socket.cork();
    }
  }

  /**
   * The digest of a payload already sent. The wait ends early if the client
   * goes away (this download's claim on the job is then dropped, cancelling
   * it unless another download waits for it). A failed job ends the
   * download too: without its trailer, the payload cannot be vouched for.
   */
  private async awaitDigest(ticket: DigestTicket, bytes: number): Promise<string> {
    const { socket } = this.host;
    let onClose: (() => void) | undefined;
    const gone = new Promise<never>((_resolve, reject) => {
      onClose = () => reject(new TransferAbortedError('connection closed while waiting for the digest', bytes));
      if (socket.destroyed) onClose();
      else socket.once('close', onClose);
    });
    try {
      return await Promise.race([ticket.digest, gone]);
    } catch (err) {
      await ticket.leave();
      if (err instanceof TransferAbortedError) throw err;
      throw new TransferAbortedError(`hashing failed: ${err instanceof Error ? err.message : String(err)}`, bytes);
    } finally {
      socket.off('close', onClose!);
    }
  }

  async receive(size: number, sink: Writable): Promise<ReceivedPayload> {
    // The client waits for `150` before sending: flush it now.
    this.host.uncork();
    const stall = this.stallGuard('upload');
    try {
      return await receivePayload(this.host.decoder, this.host, size, sink, () => this.progress(stall));
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
