/**
 * framedPayloadSource without a socket: the real frame decoder and a
 * scripted "socket" handing out chunks. Payload bytes that came in with the
 * command are taken from the decoder first; a chunk that runs past the
 * payload gives its excess back, so the next frame starts where the client
 * put it — however the stream is split.
 */
import { randomBytes } from 'node:crypto';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { framedPayloadSource } from '../../src/server/payload-source';

const PUT = encodeFrame({ type: 'command', command: 'PUT', filename: 'a.bin', size: 100 });
const LS = encodeFrame({ type: 'command', command: 'LS' });

/** A socket that hands out `chunks` in order, then `null` (the peer left); counts its reads. */
function socket(chunks: Buffer[]) {
  const queue = [...chunks];
  const reads = { count: 0 };
  const read = async (): Promise<Buffer | null> => {
    reads.count += 1;
    return queue.shift() ?? null;
  };
  /** What it has not handed out yet. */
  const unread = (): Buffer => Buffer.concat(queue);
  return { read, reads, unread };
}

/** A decoder that has read the PUT command from `first`, keeping what followed it. */
function afterCommand(first: Buffer): FrameDecoder {
  const decoder = new FrameDecoder(65_536);
  decoder.push(first);
  expect(decoder.next()).toEqual({ kind: 'message', message: { type: 'command', command: 'PUT', filename: 'a.bin', size: 100 } });
  return decoder;
}

it('hands out the bytes already in the decoder before reading the socket', async () => {
  const payload = randomBytes(100);
  const decoder = afterCommand(Buffer.concat([PUT, payload.subarray(0, 30)]));
  const { read, reads } = socket([payload.subarray(30)]);
  const source = framedPayloadSource(decoder, read);
  expect(await source.pull(100)).toEqual(payload.subarray(0, 30));
  expect(reads.count).toBe(0);
  expect(await source.pull(70)).toEqual(payload.subarray(30));
  expect(reads.count).toBe(1);
});

it('never hands out more than asked from the decoder; the rest waits there', async () => {
  const payload = randomBytes(100);
  const decoder = afterCommand(Buffer.concat([PUT, payload.subarray(0, 50)]));
  const { read, reads } = socket([]);
  const source = framedPayloadSource(decoder, read);
  expect(await source.pull(20)).toEqual(payload.subarray(0, 20));
  expect(await source.pull(20)).toEqual(payload.subarray(20, 40));
  expect(await source.pull(20)).toEqual(payload.subarray(40, 50));
  expect(reads.count).toBe(0);
});

it('gives back what a socket chunk holds past the payload, so the next frame is whole', async () => {
  const payload = randomBytes(100);
  const decoder = afterCommand(PUT);
  // The end of the payload and the next command in one chunk.
  const { read } = socket([payload.subarray(0, 60), Buffer.concat([payload.subarray(60), LS])]);
  const source = framedPayloadSource(decoder, read);
  expect(await source.pull(100)).toEqual(payload.subarray(0, 60));
  expect(await source.pull(40)).toEqual(payload.subarray(60));
  expect(decoder.next()).toEqual({ kind: 'message', message: { type: 'command', command: 'LS' } });
  expect(decoder.next()).toBeNull();
});

it('returns a chunk that fits as it is, and null once the peer is gone', async () => {
  const chunk = randomBytes(40);
  const decoder = afterCommand(PUT);
  const { read } = socket([chunk]);
  const source = framedPayloadSource(decoder, read);
  // Not a copy: nothing was given back, nothing held.
  expect(await source.pull(40)).toBe(chunk);
  expect(decoder.next()).toBeNull();
  expect(await source.pull(60)).toBeNull();
});

it('delivers exactly the payload and leaves exactly the next frame, at every split of the stream', async () => {
  const payload = randomBytes(100);
  const stream = Buffer.concat([PUT, payload, LS]);
  for (let cut = 1; cut < stream.length; cut++) {
    for (const size of [1, 7, 64]) {
      // The decoder got bytes up to `cut`; the socket hands out the rest in chunks of `size`.
      const decoder = new FrameDecoder(65_536);
      decoder.push(stream.subarray(0, Math.max(cut, PUT.length)));
      expect(decoder.next()).toMatchObject({ kind: 'message', message: { command: 'PUT' } });
      const rest = stream.subarray(Math.max(cut, PUT.length));
      const chunks = Array.from({ length: Math.ceil(rest.length / size) }, (_, i) => rest.subarray(i * size, (i + 1) * size));
      const sock = socket(chunks);
      const source = framedPayloadSource(decoder, sock.read);
      const got: Buffer[] = [];
      let remaining = payload.length;
      while (remaining > 0) {
        const bytes = await source.pull(remaining);
        if (!bytes) throw new Error(`cut ${cut}, size ${size}: stream ended early`);
        if (bytes.length > remaining) throw new Error(`cut ${cut}, size ${size}: ${bytes.length} bytes handed out, ${remaining} asked`);
        got.push(bytes);
        remaining -= bytes.length;
      }
      if (!Buffer.concat(got).equals(payload)) throw new Error(`cut ${cut}, size ${size}: wrong payload`);
      // The next frame is what was given back plus what the socket has not handed out yet.
      decoder.push(sock.unread());
      const next = decoder.next();
      expect(next).toEqual({ kind: 'message', message: { type: 'command', command: 'LS' } });
      expect(decoder.next()).toBeNull();
    }
  }
});
