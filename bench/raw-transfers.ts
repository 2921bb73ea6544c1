import fs from 'node:fs';
import net from 'node:net';
import { FrameDecoder } from '../src/protocol/frame-decoder';
import { encodeFrame } from '../src/protocol/frame-encoder';
import { FILE_CHUNK_BYTES, type TransferTarget } from './throughput';

/**
 * Transfers the way `curl` does them against vsftpd: bytes in and out and
 * nothing else on the client side (no client hashing), so the figure is
 * the server's. The server still does everything the contract asks: a
 * download's trailer carries the SHA-256 of the bytes, and the test checks
 * it against the known digest; an upload's answer carries the digest of
 * what arrived, checked the same way.
 */

/** One socket, the greeting read; frames and payload bytes pulled from a decoder. */
async function open(target: TransferTarget): Promise<{ socket: net.Socket; next(): Promise<Record<string, unknown>>; drain(n: number): Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port: target.port });
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(16 * 1024 * 1024);
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  socket.on('data', (chunk) => {
    decoder.push(chunk);
    wake?.();
  });
  socket.on('error', (err) => {
    failure = err;
    wake?.();
  });
  socket.on('close', () => {
    failure ??= new Error('connection closed');
    wake?.();
  });
  const deadline = Date.now() + target.timeoutMs;
  const waitMore = () =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      if (Date.now() > deadline) return reject(new Error('timed out'));
      wake = () => {
        wake = undefined;
        resolve();
      };
    });
  const next = async () => {
    for (;;) {
      const frame = decoder.next();
      if (frame?.kind === 'message') return frame.message;
      if (frame) throw new Error('server sent an invalid frame');
      await waitMore();
    }
  };
  const drain = async (n: number) => {
    let left = n;
    while (left > 0) {
      const part = decoder.takeRaw(left);
      if (part) left -= part.length;
      else await waitMore();
    }
  };
  const greeting = await next();
  if (greeting.code !== 200) throw new Error(`greeting ${String(greeting.code)}`);
  return { socket, next, drain };
}

/** GET `remote` and discard the payload. @returns 10^6 bytes per second. */
export async function timedRawDownload(target: TransferTarget, remote: string, size: number, sha256: string): Promise<number> {
  const conn = await open(target);
  try {
    const started = process.hrtime.bigint();
    conn.socket.write(encodeFrame({ type: 'command', command: 'GET', filename: remote }));
    const header = await conn.next();
    if (header.code !== 200 || header.size !== size) throw new Error(`GET ${remote}: ${JSON.stringify(header)}`);
    await conn.drain(size);
    const trailer = await conn.next();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (trailer.bytes !== size || trailer.sha256 !== sha256) throw new Error(`GET ${remote}: trailer ${JSON.stringify(trailer)}`);
    return size / 1e6 / seconds;
  } finally {
    conn.socket.destroy();
  }
}

/** PUT `file` as `remote` with no `sha256` field, as curl -T would. @returns 10^6 bytes per second. */
export async function timedRawUpload(target: TransferTarget, file: string, remote: string, size: number, sha256: string): Promise<number> {
  const conn = await open(target);
  try {
    const started = process.hrtime.bigint();
    conn.socket.write(encodeFrame({ type: 'command', command: 'PUT', filename: remote, size }));
    const ready = await conn.next();
    if (ready.code !== 150) throw new Error(`PUT ${remote}: ${JSON.stringify(ready)}`);
    for await (const chunk of fs.createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES })) {
      if (!conn.socket.write(chunk as Buffer)) await new Promise((resolve) => conn.socket.once('drain', resolve));
    }
    const done = await conn.next();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (done.code !== 226 || done.sha256 !== sha256) throw new Error(`PUT ${remote}: ${JSON.stringify(done)}`);
    return size / 1e6 / seconds;
  } finally {
    conn.socket.destroy();
  }
}
