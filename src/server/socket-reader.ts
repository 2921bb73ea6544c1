import type { Socket } from 'node:net';

/**
 * Pull-based reading from a socket. Nothing is read from the kernel unless a
 * caller asks for the next chunk, so while a command runs the socket's own
 * buffer fills, TCP's window closes, and a pipelining or flooding client is
 * held back by the network itself: that is the session's backpressure.
 */
export class SocketReader {
  private finished = false;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: Socket) {
    const notify = () => {
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };
    const finish = () => {
      this.finished = true;
      notify();
    };
    socket.on('readable', notify);
    socket.on('end', finish);
    socket.on('close', finish);
    // Errors end the stream; the session learns why from its own 'error' handler.
    socket.on('error', finish);
  }

  /** The next chunk of bytes, or `null` once the peer is gone. */
  async read(): Promise<Buffer | null> {
    for (;;) {
      if (this.socket.destroyed) return null;
      const chunk = this.socket.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (this.finished) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
