import fc from 'fast-check';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CrlfToLf, LfToCrlf } from '../../src/ftp/ascii';

/** Push `input` through `transform` in the given chunks; collect the output. */
async function run(transform: Transform, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    transform,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

function cutsOf(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    chunks.push(data.subarray(start, p));
    start = p;
  }
  return chunks.filter((c) => c.length > 0);
}

/** The rules stated on the whole input at once, to compare any split against. */
const toCrlf = (s: string): string => s.replace(/(?<!\r)\n/g, '\r\n');
const toLf = (s: string): string => s.replace(/\r\n/g, '\n');

describe('TYPE A downloads (LF -> CRLF)', () => {
  it('converts bare LF and leaves CRLF and lone CR alone', async () => {
    const out = await run(new LfToCrlf(), [Buffer.from('a\nb\r\nc\rd\n\n')]);
    expect(out.toString()).toBe('a\r\nb\r\nc\rd\r\n\r\n');
  });

  it('sees a CR at the end of one chunk before the LF that starts the next', async () => {
    const out = await run(new LfToCrlf(), [Buffer.from('a\r'), Buffer.from('\nb'), Buffer.from('\n')]);
    expect(out.toString()).toBe('a\r\nb\r\n');
  });

  it('property: any split gives what converting the whole file gives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('a', '\r', '\n') }), fc.array(fc.nat()), async (text, cuts) => {
        const data = Buffer.from(text);
        expect((await run(new LfToCrlf(), cutsOf(data, cuts))).toString()).toBe(toCrlf(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe('TYPE A uploads (CRLF -> LF)', () => {
  it('converts CRLF and keeps lone CR and bare LF', async () => {
    const out = await run(new CrlfToLf(), [Buffer.from('a\r\nb\rc\nd\r\r\n')]);
    expect(out.toString()).toBe('a\nb\rc\nd\r\n');
  });

  it('handles a CR at a chunk boundary either way, and a CR at the very end', async () => {
    expect((await run(new CrlfToLf(), [Buffer.from('a\r'), Buffer.from('\nb')])).toString()).toBe('a\nb');
    expect((await run(new CrlfToLf(), [Buffer.from('a\r'), Buffer.from('b')])).toString()).toBe('a\rb');
    expect((await run(new CrlfToLf(), [Buffer.from('a\r'), Buffer.from('\r'), Buffer.from('\n')])).toString()).toBe('a\r\n');
    expect((await run(new CrlfToLf(), [Buffer.from('end\r')])).toString()).toBe('end\r');
  });

  it('property: any split gives what converting the whole upload gives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('a', '\r', '\n') }), fc.array(fc.nat()), async (text, cuts) => {
        const data = Buffer.from(text);
        expect((await run(new CrlfToLf(), cutsOf(data, cuts))).toString()).toBe(toLf(text));
      }),
      { numRuns: 300 },
    );
  });

  it('property: a Unix text file survives download then upload unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('x', '\n', 'é') }), fc.array(fc.nat()), async (text, cuts) => {
        const wire = await run(new LfToCrlf(), cutsOf(Buffer.from(text), cuts));
        expect((await run(new CrlfToLf(), cutsOf(wire, cuts))).toString()).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('backpressure', () => {
  it('does not run ahead of a slow reader: a 4 MiB file passes through a paused consumer in bounded steps', async () => {
    const line = Buffer.from(`${'x'.repeat(63)}\n`);
    const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line)); // 64 KiB
    const total = 64;
    let produced = 0;
    let maxAhead = 0;
    let consumed = 0;
    const source = new Readable({
      read() {
        if (produced === total) return void this.push(null);
        produced++;
        this.push(chunk);
      },
    });
    const transform = new LfToCrlf();
    await pipeline(
      source,
      transform,
      new Writable({
        highWaterMark: 16 * 1024,
        write(data: Buffer, _enc, done) {
          consumed += data.length;
          maxAhead = Math.max(maxAhead, produced * chunk.length - consumed / (65 / 64));
          setImmediate(done);
        },
      }),
    );
    expect(consumed).toBe(total * chunk.length * (65 / 64));
    // Without backpressure the source would be read to the end at once (4 MiB ahead).
    expect(maxAhead).toBeLessThan(16 * chunk.length);
  });
});
