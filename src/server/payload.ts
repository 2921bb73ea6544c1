import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FileHandle } from 'node:fs/promises';

/**
 * Where payload bytes come from: the next chunk, or `null` once the peer is
 * gone. The caller owns each chunk returned (a sink may keep it), so a
 * source must hand out fresh buffers, never reuse one.
 */
export interface ChunkSource {
  pull(): Promise<Buffer | null>;
}

/**
 * Thrown when a payload cannot be completed and the connection must close:
 * the peer left, stalled past the transfer timeout, or the file shrank under
 * a download. After it, no frame boundary on this connection can be trusted.
 */
export class TransferAbortedError extends Error {
  constructor(
    message: string,
    /** Payload bytes that did move before the abort. */
    readonly bytesMoved: number,
  ) {
    super(message);
    this.name = 'TransferAbortedError';
  }
}

/** Called for every chunk that moves, so the session can push back its timers. */
export type ProgressHook = (bytes: number) => void;

/** Size of each read from disk for downloads: big writes run loopback near its limit. */
export const DOWNLOAD_CHUNK_BYTES = 1024 * 1024;

/**
 * Wait until the socket can take more bytes. Rejects if it closes first, so
 * a client that stops reading is ended by the stall timer destroying the
 * socket, never by buffering its download in memory.
 */
export function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('socket closed'));
      return;
    }
    const cleanup = () => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error('socket closed'));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/** Disk chunks in flight per download: one being read while others are sent. */
const DOWNLOAD_BUFFERS = 3;

/**
 * Stream bytes `[start, end)` of an open file to the socket, optionally
 * hashing them on the way. A chunk's buffer is reused only once the socket
 * has handed it to the kernel (its write callback): no copy and no fresh
 * allocation per chunk.
 */
export async function sendFileRange(
  socket: Socket,
  handle: FileHandle,
  start: number,
  end: number,
  onProgress: ProgressHook,
  hashInline: boolean,
): Promise<{ bytes: number; sha256?: string }> {
  const hash = hashInline ? createHash('sha256') : undefined;
  const length = end - start;
  const chunkSize = Math.min(DOWNLOAD_CHUNK_BYTES, Math.max(length, 1));
  const free: Buffer[] = [];
  let allocated = 0;
  let bufferFreed: (() => void) | undefined;
  const acquire = async (): Promise<Buffer> => {
    for (;;) {
      const buffer = free.pop();
      if (buffer) return buffer;
      if (allocated < DOWNLOAD_BUFFERS) {
        allocated += 1;
        return Buffer.allocUnsafe(chunkSize);
      }
      if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
      await new Promise<void>((resolve) => {
        bufferFreed = resolve;
      });
    }
  };
  const release = (buffer: Buffer) => {
    free.push(buffer);
    const wake = bufferFreed;
    bufferFreed = undefined;
    wake?.();
  };
  // A closed socket fails its pending writes, which frees their buffers too.
  let sent = 0;
  while (sent < length) {
    if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
    const buffer = await acquire();
    const want = Math.min(buffer.length, length - sent);
    const { bytesRead } = await handle.read(buffer, 0, want, start + sent);
    if (bytesRead === 0) throw new TransferAbortedError('file shrank during download', sent);
    const chunk = buffer.subarray(0, bytesRead);
    hash?.update(chunk);
    sent += bytesRead;
    if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
    // No wait for 'drain' here: the ring of buffers is the backpressure. The
    // next read waits for a buffer the socket has finished with, so at most
    // DOWNLOAD_BUFFERS chunks are ever queued for a client that stops reading.
    socket.write(chunk, () => release(buffer));
    onProgress(bytesRead);
  }
  if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
  return { bytes: sent, sha256: hash?.digest('hex') };
}
