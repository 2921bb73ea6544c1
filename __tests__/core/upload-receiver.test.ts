/**
 * The upload receiver without a socket: a scripted chunk source, the real
 * frame decoder, real hash threads and real files in a temp folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { TransferAbortedError } from '../../src/core/errors';
import type { ChunkSource } from '../../src/core/payload';
import { framedPayloadSource } from '../../src/server/payload-source';
import { defaultHashThreads, RING_SLOT_BYTES, RING_SLOTS, UploadHasher } from '../../src/core/upload-hasher';
import { receivePayload, THREAD_HASH_MIN_BYTES } from '../../src/core/upload-receiver';
import { HandleWriter } from '../../src/storage/temp-files';

jest.setTimeout(30_000);

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let dir: string;
const hashers: UploadHasher[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-receiver-'));
});
afterEach(async () => {
  await Promise.all(hashers.splice(0).map((h) => h.close()));
  await fs.rm(dir, { recursive: true, force: true });
});

function hasher(threads: number): UploadHasher {
  const h = new UploadHasher(threads);
  hashers.push(h);
  return h;
}

/** Hands out `data` in chunks of the given sizes (cycling), fresh buffers each, then `null` (the peer left). */
class ScriptedSource implements ChunkSource {
  offset = 0;
  pulls = 0;
  private i = 0;
  constructor(
    private readonly data: Buffer,
    private readonly sizes: number[],
    private readonly endAt = data.length,
  ) {}
  async pull(max = Infinity): Promise<Buffer | null> {
    this.pulls += 1;
    if (this.offset >= this.endAt) return null;
    const n = Math.min(this.sizes[this.i++ % this.sizes.length], this.endAt - this.offset, max);
    // A fresh copy, as a socket gives: the receiver owns what it is handed.
    const chunk = Buffer.from(this.data.subarray(this.offset, this.offset + n));
    this.offset += n;
    return chunk;
  }
}

/** The source's chunks as a socket would hand them to the native session. */
const pullFrom = (source: ChunkSource) => () => source.pull(Infinity);

async function fileSink(name: string): Promise<{ writer: HandleWriter; close(): Promise<Buffer> }> {
  const file = path.join(dir, name);
  const handle = await fs.open(file, 'wx');
  const writer = new HandleWriter(handle, false);
  return {
    writer,
    async close() {
      await handle.close();
      return fs.readFile(file);
    },
  };
}

it('hashes a large payload on a thread: digest and file equal the bytes, and the next frame stays in the decoder', async () => {
  const payload = randomBytes(9 * MiB + 12_345);
  const next = encodeFrame({ type: 'command', command: 'LS' });
  const h = hasher(1);
  const decoder = new FrameDecoder(65_536);
  // The command's own chunk carried the first payload bytes; the last chunk carries the next frame.
  decoder.push(payload.subarray(0, 1000));
  const stream = Buffer.concat([payload.subarray(1000), next]);
  const source = new ScriptedSource(stream, [65_536, 1, 300_000, 4096, 2 * MiB]);
  const sink = await fileSink('up.bin');
  const progress: number[] = [];

  const result = await receivePayload(framedPayloadSource(decoder, pullFrom(source)), payload.length, sink.writer, (n) => progress.push(n), { hasher: h });

  expect(result).toEqual({ bytes: payload.length, sha256: sha256(payload) });
  expect((await sink.close()).equals(payload)).toBe(true);
  expect(progress.reduce((a, b) => a + b, 0)).toBe(payload.length);
  expect(decoder.next()).toEqual({ kind: 'message', message: { type: 'command', command: 'LS' } });
  // The bytes went through the hash thread, slot by slot.
  expect(h.stats).toEqual({ threads: 1, uploads: 1, slots: Math.ceil(payload.length / RING_SLOT_BYTES), active: 0 });
});

it('hashes inline below the threshold, and always when the hasher has no threads', async () => {
  const h = hasher(1);
  const small = randomBytes(THREAD_HASH_MIN_BYTES - 1);
  const sink = await fileSink('small.bin');
  const result = await receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(new ScriptedSource(small, [65_536]))), small.length, sink.writer, () => {}, { hasher: h });
  expect(result.sha256).toBe(sha256(small));
  expect((await sink.close()).equals(small)).toBe(true);
  expect(h.stats).toEqual({ threads: 0, uploads: 0, slots: 0, active: 0 });

  const none = hasher(0);
  const large = randomBytes(THREAD_HASH_MIN_BYTES + 1);
  const sink2 = await fileSink('large.bin');
  const result2 = await receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(new ScriptedSource(large, [65_536]))), large.length, sink2.writer, () => {}, { hasher: none });
  expect(result2.sha256).toBe(sha256(large));
  expect((await sink2.close()).equals(large)).toBe(true);
  expect(none.stats).toEqual({ threads: 0, uploads: 0, slots: 0, active: 0 });
});

it('sizes the default pool to the machine: no thread on two cores or fewer', () => {
  expect([1, 2, 3, 4, 8, 16, 64].map((cores) => defaultHashThreads(cores))).toEqual([0, 0, 1, 1, 3, 4, 4]);
});

it('reads no further than its ring and the sink buffer while the sink is stuck', async () => {
  const h = hasher(1);
  const total = 64 * MiB;
  const data = Buffer.alloc(total, 7);
  const source = new ScriptedSource(data, [65_536]);
  let release: (() => void) | undefined;
  // A disk that takes the first write and never finishes it until told.
  const stuck = new Writable({
    highWaterMark: MiB,
    write(_chunk, _enc, callback) {
      release = () => callback();
    },
    writev(_chunks, callback) {
      release = () => callback();
    },
  });
  const receiving = receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(source)), total, stuck, () => {}, { hasher: h });
  // Let it run until it stops asking for bytes (a bounded number of turns).
  let before = -1;
  for (let turn = 0; turn < 200 && source.offset !== before; turn++) {
    before = source.offset;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(source.offset).toBe(before);
  expect(source.offset).toBeLessThanOrEqual(RING_SLOTS * RING_SLOT_BYTES + 2 * MiB);
  expect(source.offset).toBeLessThan(total);
  // Freed, it reads on to the end.
  // Each write's callback runs once: take it before calling it.
  const drainAll = setInterval(() => {
    const finish = release;
    release = undefined;
    finish?.();
  }, 1);
  try {
    expect((await receiving).sha256).toBe(sha256(data));
  } finally {
    clearInterval(drainAll);
  }
  expect(source.offset).toBe(total);
});

it('a failing sink (disk full) still reads the whole payload, keeps the stream in step and reports the error', async () => {
  const h = hasher(1);
  const payload = randomBytes(8 * MiB);
  const next = encodeFrame({ type: 'command', command: 'QUIT' });
  const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  let writes = 0;
  const failing = new Writable({
    write(_chunk, _enc, callback) {
      writes += 1;
      callback(writes > 3 ? full : null);
    },
  });
  const decoder = new FrameDecoder(65_536);
  // Chunks that do not divide the payload: the last one carries the next frame too.
  const source = new ScriptedSource(Buffer.concat([payload, next]), [65_537]);
  const result = await receivePayload(framedPayloadSource(decoder, pullFrom(source)), payload.length, failing, () => {}, { hasher: h });
  expect(result).toEqual({ bytes: payload.length, sha256: '', sinkError: full, hashError: undefined });
  expect(decoder.next()).toEqual({ kind: 'message', message: { type: 'command', command: 'QUIT' } });
});

it('a hash thread that dies mid-upload fails that upload after reading it to the end; the next one gets a fresh thread', async () => {
  const h = hasher(1);
  const payload = randomBytes(16 * MiB);
  const source = new ScriptedSource(payload, [65_536]);
  let crashed = false;
  const sink = await fileSink('crash.bin');
  const result = await receivePayload(
    framedPayloadSource(new FrameDecoder(65_536), pullFrom(source)),
    payload.length,
    sink.writer,
    () => {
      // Once a few slots are hashed, the thread crashes.
      if (!crashed && h.stats.slots >= 2) {
        crashed = true;
        h.crashThreadsForTesting();
      }
    },
    { hasher: h },
  );
  await sink.close();
  expect(crashed).toBe(true);
  expect(result.sha256).toBe('');
  expect(String(result.hashError)).toMatch(/crashed on request|exited/);
  expect(source.offset).toBe(payload.length);

  const again = randomBytes(5 * MiB);
  const sink2 = await fileSink('after.bin');
  const second = await receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(new ScriptedSource(again, [65_536]))), again.length, sink2.writer, () => {}, { hasher: h });
  expect(second).toEqual({ bytes: again.length, sha256: sha256(again) });
  expect((await sink2.close()).equals(again)).toBe(true);
  expect(h.stats).toMatchObject({ threads: 1, uploads: 2, active: 0 });
});

it('a peer that leaves mid-payload aborts with the bytes moved, and the thread forgets the upload', async () => {
  const h = hasher(1);
  const payload = randomBytes(10 * MiB);
  const source = new ScriptedSource(payload, [65_536], 6 * MiB + 5);
  const sink = await fileSink('gone.bin');
  const err = await receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(source)), payload.length, sink.writer, () => {}, { hasher: h }).catch((e: unknown) => e);
  await sink.close();
  expect(err).toBeInstanceOf(TransferAbortedError);
  expect((err as TransferAbortedError).bytesMoved).toBe(6 * MiB + 5);
  expect(h.stats).toMatchObject({ uploads: 1, active: 0 });
  // The thread is free for the next upload and hashes it right.
  const next = randomBytes(5 * MiB);
  const sink2 = await fileSink('next.bin');
  expect(await receivePayload(framedPayloadSource(new FrameDecoder(65_536), pullFrom(new ScriptedSource(next, [65_536]))), next.length, sink2.writer, () => {}, { hasher: h })).toEqual({
    bytes: next.length,
    sha256: sha256(next),
  });
  await sink2.close();
});
