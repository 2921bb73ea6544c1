import type { Socket } from 'node:net';
import type { ChunkSource } from '../core/payload';
import type { ReceivedPayload } from '../core/upload-receiver';
import type { Download, TransferHooks, Upload } from '../core/transfers';
import type { FrameDecoder } from '../protocol/frame-decoder';
import type { Timer } from '../util/clock';
import type { SessionChannel } from './commands/command';
import { framedPayloadSource } from './payload-source';
import type { SessionDeps } from './session-deps';

/** What the transfers need from their session. */
export interface TransferHost {
  readonly socket: Socket;
  /** `IP:PORT` of the client (behind a balancer: from its PROXY header). */
  readonly remote: string;
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
 * connection with frames (see `payload-source.ts`); a small download leaves
 * corked, in one write with its header and trailer; each payload runs under
 * a stall timer. Created on a session's first command,
 * so idle connections never pay for it.
 */
export class SessionTransfers implements SessionChannel {
  /** The payload bytes of this connection (see `payload-source.ts`). */
  private readonly source: ChunkSource;

  constructor(private readonly host: TransferHost) {
    this.source = framedPayloadSource(host.decoder, () => host.pull());
  }

  send(message: object): void {
    this.host.send(message);
  }

  endAfterReply(): void {
    this.host.requestClose(`Client ${this.host.remote} requested disconnect`);
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
      return await upload.receive(this.source, this.stallGuard('upload'));
    } finally {
      this.host.socket.cork();
    }
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
