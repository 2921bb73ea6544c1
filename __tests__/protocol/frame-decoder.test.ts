import fc from 'fast-check';
import { FramingError } from '../../src/protocol/errors';
import { FrameDecoder, type DecodedFrame } from '../../src/protocol/frame-decoder';
import { encodeFrame, FrameTooLargeError } from '../../src/protocol/frame-encoder';

const LIMIT = 65_536;

/** Feed `bytes` split at the given offsets; collect every frame. */
function decodeSplit(bytes: Buffer, cuts: number[]): DecodedFrame[] {
  const decoder = new FrameDecoder(LIMIT);
  const frames: DecodedFrame[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(start, cut));
    start = cut;
    for (let frame = decoder.next(); frame; frame = decoder.next()) frames.push(frame);
  }
  expect(decoder.bufferedBytes).toBe(0);
  return frames;
}

function rawFrame(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

describe('FrameDecoder', () => {
  const messages = [
    { type: 'command', command: 'LS' },
    { type: 'command', command: 'GET', filename: 'naïve 🎉.txt', offset: 3 },
    { type: 'command', command: 'PUT', filename: 'a/b', size: 0 },
  ];
  const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));

  it('decodes a stream split at every single byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = decodeSplit(stream, [cut]);
      expect(frames).toEqual(messages.map((message) => ({ kind: 'message', message })));
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(decodeSplit(stream, cuts).map((f) => f.kind === 'message' && f.message)).toEqual(messages);
  });

  it('round-trips any JSON object through the encoder under any split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (objects, rawCuts) => {
          const bytes = Buffer.concat(objects.map((o) => encodeFrame(o)));
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const decoded = decodeSplit(bytes, cuts);
          // JSON turns -0 into 0; compare through JSON to sidestep that.
          expect(decoded.map((f) => (f.kind === 'message' ? JSON.stringify(f.message) : f.kind))).toEqual(
            objects.map((o) => JSON.stringify(JSON.parse(JSON.stringify(o)))),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'Frame is not valid UTF-8'],
    ['an overlong UTF-8 encoding', Buffer.from([0x22, 0xc0, 0xaf, 0x22]), 'Frame is not valid UTF-8'],
    ['not JSON', Buffer.from('{nope'), 'Frame is not valid JSON'],
    ['a JSON array', Buffer.from('[1,2]'), 'Frame is not a JSON object'],
    ['JSON null', Buffer.from('null'), 'Frame is not a JSON object'],
    ['a JSON string', Buffer.from('"ab"'), 'Frame is not a JSON object'],
  ])('answers a frame holding %s with 400 and stays in step', (_what, body, message) => {
    const bytes = Buffer.concat([rawFrame(body), encodeFrame({ type: 'command', command: 'LS' })]);
    const frames = decodeSplit(bytes, [3]);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ kind: 'invalid', error: { code: 400, message } });
    expect(frames[1]).toEqual({ kind: 'message', message: { type: 'command', command: 'LS' } });
  });

  it.each([
    [0, 400],
    [1, 400],
    [LIMIT + 1, 413],
    [0xffffffff, 413],
  ])('throws a FramingError for a length prefix of %d (code %d)', (length, code) => {
    const decoder = new FrameDecoder(LIMIT);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    decoder.push(header.subarray(0, 2));
    expect(decoder.next()).toBeNull();
    decoder.push(header.subarray(2));
    let thrown: unknown;
    try {
      decoder.next();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FramingError);
    expect((thrown as FramingError).code).toBe(code);
  });

  it('accepts a frame of exactly the limit', () => {
    const body = Buffer.from(JSON.stringify({ pad: 'x'.repeat(LIMIT - 10) }));
    expect(body.length).toBe(LIMIT);
    const frames = decodeSplit(rawFrame(body), [100, 40_000]);
    expect(frames[0].kind).toBe('message');
  });

  it('hands back raw payload bytes that follow a frame, then keeps decoding', () => {
    const decoder = new FrameDecoder(LIMIT);
    const payload = Buffer.from('hello world');
    decoder.push(Buffer.concat([encodeFrame({ type: 'command', command: 'PUT' }), payload.subarray(0, 4)]));
    expect(decoder.next()).toMatchObject({ kind: 'message' });
    expect(decoder.takeRaw(payload.length)?.toString()).toBe('hell');
    expect(decoder.takeRaw(10)).toBeNull();
    decoder.push(Buffer.concat([payload.subarray(4), encodeFrame({ type: 'command', command: 'LS' })]));
    expect(decoder.takeRaw(payload.length - 4)?.toString()).toBe('o world');
    expect(decoder.next()).toEqual({ kind: 'message', message: { type: 'command', command: 'LS' } });
  });
});

describe('encodeFrame', () => {
  it('writes a big-endian length in front of UTF-8 JSON', () => {
    const frame = encodeFrame({ a: 'é' });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.subarray(4).toString('utf8')).toBe('{"a":"é"}');
    expect(frame.subarray(0, 4)).toEqual(Buffer.from([0, 0, 0, 10]));
  });

  it('refuses a message over the limit', () => {
    expect(() => encodeFrame({ pad: 'x'.repeat(100) }, 50)).toThrow(FrameTooLargeError);
  });
});
