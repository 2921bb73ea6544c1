import net from 'node:net';
import { FtpClient } from '../src/client/ftp-client';
import { DEFAULT_LIMITS } from '../src/config/defaults';
import { FrameDecoder } from '../src/protocol/frame-decoder';
import { encodeFrame } from '../src/protocol/frame-encoder';
import { compareContent, HashingSink, type ContentDigest } from '../src/tools/integrity';

/**
 * Phase 4: many small GETs on one session. Sequential through the client
 * library (one request in flight: this is per-request latency, Nagle and
 * all), and pipelined over a raw socket (the server's per-request cost
 * alone, with the round trips overlapped).
 */

/** Warm-up requests before timing, so the JIT and the page cache are ready. */
const WARMUP_GETS = 50;

/** `count` sequential GETs of `file` through the client library. @returns requests per second. */
export async function sequentialGets(port: number, file: string, digest: ContentDigest, count: number, timeoutMs: number): Promise<number> {
  const client = await FtpClient.connect({ host: '127.0.0.1', port, timeoutMs });
  try {
    const getOnce = async () => {
      const sink = new HashingSink();
      await client.get(file, sink);
      const problem = compareContent(digest, sink.digest());
      if (problem) throw new Error(`GET ${file}: ${problem}`);
    };
    for (let i = 0; i < Math.min(WARMUP_GETS, count); i++) await getOnce();
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await getOnce();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return count / seconds;
  } finally {
    await client.quit();
  }
}

/**
 * `count` GETs of `file` with up to `depth` requests sent ahead of the
 * answers (the contract answers in order). Each trailer's SHA-256 is
 * checked against `digest`. @returns requests per second.
 */
export async function pipelinedGets(port: number, file: string, digest: ContentDigest, count: number, depth: number, timeoutMs: number): Promise<number> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(DEFAULT_LIMITS.maxServerFrameBytes);
  const request = encodeFrame({ type: 'command', command: 'GET', filename: file });
  let sent = 0;
  let done = 0;
  let state: 'greeting' | 'header' | 'payload' | 'trailer' = 'greeting';
  let remaining = 0;
  let started = process.hrtime.bigint();

  const finished = new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`pipelined GETs: no progress for ${timeoutMs} ms`)), timeoutMs);
    const send = () => {
      // Batch the requests of one refill into one write, as a pipelining client would.
      const n = Math.min(depth - (sent - done), count - sent);
      if (n > 0) {
        socket.write(n === 1 ? request : Buffer.concat(Array.from({ length: n }, () => request)));
        sent += n;
      }
    };
    const message = (): Record<string, unknown> | null => {
      const frame = decoder.next();
      if (!frame) return null;
      if (frame.kind !== 'message') throw new Error('pipelined GETs: invalid frame from the server');
      return frame.message;
    };
    socket.on('data', (chunk: Buffer) => {
      timer.refresh();
      decoder.push(chunk);
      try {
        for (;;) {
          if (state === 'payload') {
            const bytes = decoder.takeRaw(remaining);
            if (!bytes) return;
            remaining -= bytes.length;
            if (remaining === 0) state = 'trailer';
            continue;
          }
          const msg = message();
          if (!msg) return;
          if (state === 'greeting') {
            if (msg.code !== 200) throw new Error(`pipelined GETs: greeting ${String(msg.code)}`);
            state = 'header';
            started = process.hrtime.bigint();
            send();
          } else if (state === 'header') {
            if (msg.code !== 200 || msg.size !== digest.size) throw new Error(`pipelined GETs: answer ${JSON.stringify(msg)}`);
            remaining = digest.size;
            state = remaining > 0 ? 'payload' : 'trailer';
          } else {
            const problem = compareContent(digest, { size: Number(msg.bytes), sha256: String(msg.sha256) });
            if (msg.code !== 226 || problem) throw new Error(`pipelined GETs: trailer ${problem ?? JSON.stringify(msg)}`);
            done += 1;
            state = 'header';
            if (done === count) {
              clearTimeout(timer);
              socket.end(encodeFrame({ type: 'command', command: 'QUIT' }));
              resolve();
              return;
            }
            send();
          }
        }
      } catch (err) {
        clearTimeout(timer);
        fail(err as Error);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (done < count) fail(new Error(`pipelined GETs: the server closed after ${done} of ${count}`));
    });
  });
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  socket.destroy();
  return count / seconds;
}
