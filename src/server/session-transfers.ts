import type { Socket } from 'node:net';
import type { ChunkSource, ReceivedPayload } from '../core/payload';
import type { Download, TransferHooks, Upload } from '../core/transfers';
import type { FrameDecoder } from '../protocol/frame-decoder';
import type { Timer } from '../util/clock';
import type { SessionChannel } from './commands/command';
import type { SessionDeps } from './session-deps';

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
 * The payload side of a native session (the channel GET and PUT use): the
 * native framing around the shared transfer layer. Payload bytes share the
 * connection with frames, so an upload reads first what the frame decoder
 * already holds and gives back what belongs to the next frame; a small
 * download leaves corked, in one write with its header and trailer; each
 * payload runs under a stall timer. Created on a session's first command,
 * so idle connections never pay for it.
 */
export class SessionTransfers implements SessionChannel, ChunkSource {
  constructor(private readonly host: TransferHost) {}

  send(message: object): void {
    this.host.send(message);
  }

  endAfterReply(): void {
    const { remoteAddress, remotePort } = this.host.socket;
    this.host.requestClose(`Client ${remoteAddress}:${remotePort} requested disconnect`);
  }

  async sendDownload(download: Download): Promise<{ bytes: number; sha256: string }> {
    if (download.small) {
      // The session's cork sends header, payload and trailer as one write.
      return download.sendTo(this.host.socket, { progress: () => this.host.touch() });
    }
    this.host.uncork();
    try {
      return await download.sendTo(this.host.socket, this.stallGuard('download'));
    } finally {
      this.host.socket.cork();
    }
  }

  async receiveUpload(upload: Upload): Promise<ReceivedPayload> {
    // The client waits for `150` before sending: flush it now.
    this.host.uncork();
    try {
      return await upload.receive(this, this.stallGuard('upload'));
    } finally {
      this.host.socket.cork();
    }
  }

  /**
   * Payload bytes: first those the frame decoder already holds (they came in
   * the same chunk as the command), then fresh ones from the socket; bytes
   * past `max` belong to the next frame and go back to the decoder.
   */
  async pull(max: number): Promise<Buffer | null> {
    const { decoder } = this.host;
    const buffered = decoder.takeRaw(max);
    if (buffered) return buffered;
    const fresh = await this.host.pull();
    if (!fresh) return null;
    if (fresh.length <= max) return fresh;
    decoder.push(fresh.subarray(max));
    return fresh.subarray(0, max);
  }

  /**
   * Hooks that end the connection if a payload stops moving, and stop
   * counting once its last byte moved (waiting for a digest is no stall).
   */
  private stallGuard(what: string): TransferHooks {
    const { limits, clock } = this.host.deps;
    const stall: Timer = clock.setTimer(limits.transferTimeoutMs, () =>
      this.host.abort(`${what} stalled for ${limits.transferTimeoutMs / 1000} s`),
    );
    return {
      progress: () => {
        stall.refresh();
        this.host.touch();
      },
      payloadDone: () => stall.cancel(),
    };
  }
}
