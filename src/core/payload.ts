/**
 * Moving payload bytes, whatever the protocol around them: a file range to a
 * socket with backpressure (uploads are received in `upload-receiver.ts`).
 * The native port's frames and FTP's data connections both come down to these.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { TransferAbortedError } from './errors';

/**
 * Where upload bytes come from. `pull(max)` resolves with the next chunk of
 * at most `max` bytes (the source keeps the rest for later), or `null` once
 * the peer has finished sending or gone. A source must not reuse the memory
 * of a chunk it returned.
 */
export interface ChunkSource {
  pull(max: number): Promise<Buffer | null>;
}

/** A file range to send: positional reads where the backend has them, else a stream. */
export interface RangeSource {
  read?(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  createReadStream(start: number, end: number): Readable;
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
 * Send bytes `[start, end)` of `file` to the socket, optionally hashing them
 * on the way: by positional reads into a ring of reused buffers where the
 * backend has them, else from its stream.
 */
export function sendFileRange(
  socket: Socket,
  file: RangeSource,
  start: number,
  end: number,
  onProgress: ProgressHook,
  hashInline: boolean,
): Promise<{ bytes: number; sha256?: string }> {
  const read = file.read?.bind(file);
  if (read) return sendByReads(socket, read, start, end, onProgress, hashInline);
  return sendStream(socket, file.createReadStream(start, end), end - start, onProgress, hashInline);
}

/**
 * The positional-read sender. A chunk's buffer is reused only once the
 * socket has handed it to the kernel (its write callback): no copy and no
 * fresh allocation per chunk.
 */
async function sendByReads(
  socket: Socket,
  read: NonNullable<RangeSource['read']>,
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
    const bytesRead = await read(buffer, 0, want, start + sent);
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

/**
 * The stream sender, for backends where every read is a request (object
 * stores): each chunk is written as it comes, and the stream is paused while
 * the socket's buffer is full, so at most one chunk waits in memory.
 */
async function sendStream(
  socket: Socket,
  stream: Readable,
  length: number,
  onProgress: ProgressHook,
  hashInline: boolean,
): Promise<{ bytes: number; sha256?: string }> {
  const hash = hashInline ? createHash('sha256') : undefined;
  let sent = 0;
  try {
    for await (const piece of stream) {
      const chunk = piece as Buffer;
      if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
      const room = Math.min(chunk.length, length - sent);
      const part = room < chunk.length ? chunk.subarray(0, room) : chunk;
      hash?.update(part);
      sent += part.length;
      onProgress(part.length);
      if (!socket.write(part)) await waitForDrain(socket).catch(() => undefined);
      if (sent >= length) break;
    }
  } catch (err) {
    if (err instanceof TransferAbortedError) throw err;
    throw new TransferAbortedError(`reading the file failed: ${err instanceof Error ? err.message : String(err)}`, sent);
  } finally {
    stream.destroy();
  }
  if (sent < length) throw new TransferAbortedError('file shrank during download', sent);
  if (socket.destroyed) throw new TransferAbortedError('connection closed during download', sent);
  return { bytes: sent, sha256: hash?.digest('hex') };
}


