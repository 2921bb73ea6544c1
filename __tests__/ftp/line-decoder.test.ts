import fc from 'fast-check';
import { LineDecoder, MAX_LINE_BYTES, type DecodedLine } from '../../src/ftp/line-decoder';

const IAC = 0xff;
const IP = 0xf4;
const DM = 0xf2;

/** Feed `bytes` cut at `cuts`, pulling everything after each push, as a session would. */
function decodeSplit(bytes: Buffer, cuts: number[], decoder = new LineDecoder()): DecodedLine[] {
  const out: DecodedLine[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(start, cut));
    start = cut;
    for (let item = decoder.next(); item; item = decoder.next()) out.push(item);
  }
  return out;
}

function oneByteAtATime(bytes: Buffer): DecodedLine[] {
  return decodeSplit(bytes, Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1));
}

const lines = (...texts: string[]): DecodedLine[] => texts.map((line) => ({ kind: 'line', line }));
const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('LineDecoder: line ends and splits', () => {
  const stream = bytes('USER alice\r\nPASS s3cret\r\nSTOR  a  b \r\nRETR naïve 🎉.txt\r\nQUIT\r\n');
  const expected = lines('USER alice', 'PASS s3cret', 'STOR  a  b ', 'RETR naïve 🎉.txt', 'QUIT');

  it('decodes a multi-command stream cut at every single byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new LineDecoder();
      expect(decodeSplit(stream, [cut], decoder)).toEqual(expected);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('decodes every pair of cut points (three segments)', () => {
    for (let a = 0; a <= stream.length; a += 3) {
      for (let b = a; b <= stream.length; b += 5) {
        expect(decodeSplit(stream, [a, b])).toEqual(expected);
      }
    }
  });

  it('decodes the stream one byte at a time', () => {
    expect(oneByteAtATime(stream)).toEqual(expected);
  });

  it('gives pipelined commands in one chunk one by one, in order, holding the rest', () => {
    const decoder = new LineDecoder();
    decoder.push(bytes('NOOP\r\nPWD\r\nSYST\r\nPART'));
    expect(decoder.next()).toEqual({ kind: 'line', line: 'NOOP' });
    // The unread commands stay queued, not decoded ahead of the caller.
    expect(decoder.bufferedBytes).toBe('PWD\r\nSYST\r\nPART'.length);
    expect(decoder.next()).toEqual({ kind: 'line', line: 'PWD' });
    expect(decoder.next()).toEqual({ kind: 'line', line: 'SYST' });
    expect(decoder.next()).toBeNull();
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(bytes('IAL\n'));
    expect(decoder.next()).toEqual({ kind: 'line', line: 'PARTIAL' });
  });

  it('ends a line at a bare LF as well as at CR LF', () => {
    expect(decodeSplit(bytes('NOOP\nPWD\r\n\n'), [])).toEqual(lines('NOOP', 'PWD', ''));
  });

  it('keeps a CR sent as CR NUL (RFC 2640) and a CR followed by anything else as data', () => {
    const input = bytes('STOR a', [0x0d, 0x00], 'b\r\n', 'STOR c\rd\r\n', 'STOR e\r\r\n');
    for (const out of [decodeSplit(input, []), oneByteAtATime(input)]) {
      expect(out).toEqual(lines('STOR a\rb', 'STOR c\rd', 'STOR e\r'));
    }
  });

  it('keeps a NUL that does not follow a CR, for the path rules to refuse', () => {
    expect(decodeSplit(bytes('RETR a', [0], 'b\r\n'), [])).toEqual(lines('RETR a\0b'));
  });

  it('property: any lines without CR, LF or IAC come back unchanged under any split', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/[\r\n\u00ff]/.test(s));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (texts, rawCuts) => {
        const input = Buffer.from(texts.map((t) => `${t}\r\n`).join(''), 'utf8');
        const cuts = [...new Set(rawCuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        expect(decodeSplit(input, cuts)).toEqual(lines(...texts));
      }),
      { numRuns: 300 },
    );
  });
});

describe('LineDecoder: Telnet', () => {
  it('turns IAC IAC into one literal 0xFF byte (then the line is not UTF-8)', () => {
    const out = decodeSplit(bytes('RETR a', [IAC, IAC], 'b\r\n'), []);
    // 'RETR a' + one 0xFF + 'b': two bytes of IAC IAC count as one.
    expect(out).toEqual([{ kind: 'bad_encoding', bytes: 8 }]);
  });

  it('drops option negotiation (IAC WILL/WONT/DO/DONT opt) under every split', () => {
    const input = bytes([IAC, 0xfb, 0x01], 'NO', [IAC, 0xfd, 0x03], 'OP', [IAC, 0xfc, 0x22, IAC, 0xfe, 0x18], '\r\n');
    for (let cut = 0; cut <= input.length; cut++) expect(decodeSplit(input, [cut])).toEqual(lines('NOOP'));
    expect(oneByteAtATime(input)).toEqual(lines('NOOP'));
  });

  it('drops a subnegotiation up to IAC SE, and an escaped IAC inside it', () => {
    const input = bytes([IAC, 0xfa, 0x18, 0x00, IAC, IAC, 0x41, IAC, 0xf0], 'PWD\r\n');
    for (let cut = 0; cut <= input.length; cut++) expect(decodeSplit(input, [cut])).toEqual(lines('PWD'));
  });

  it('lets a line end close a subnegotiation that never sees IAC SE', () => {
    expect(decodeSplit(bytes([IAC, 0xfa, 0x18], 'junk\r\nNOOP\r\n'), [])).toEqual(lines('', 'NOOP'));
  });

  it('drops other two-byte commands (NOP, AYT, GA)', () => {
    expect(decodeSplit(bytes('NO', [IAC, 0xf1, IAC, 0xf6, IAC, 0xf9], 'OP\r\n'), [])).toEqual(lines('NOOP'));
  });

  const abortSequence = bytes([IAC, IP, IAC, DM], 'ABOR\r\n');
  const abortEvents: DecodedLine[] = [
    { kind: 'telnet', command: 'IP' },
    { kind: 'telnet', command: 'DM' },
    { kind: 'line', line: 'ABOR' },
  ];

  it('reports IAC IP and IAC DM as events before the ABOR line, under every split', () => {
    for (let cut = 0; cut <= abortSequence.length; cut++) {
      expect(decodeSplit(abortSequence, [cut])).toEqual(abortEvents);
    }
    expect(oneByteAtATime(abortSequence)).toEqual(abortEvents);
  });

  it('still gets ABOR through when the urgent IAC of IAC DM was lost (DM arrives bare)', () => {
    // BSD ftp sends "IAC IP IAC" as urgent data and "DM ABOR" in band; without
    // SO_OOBINLINE the kernel keeps the urgent byte (the second IAC) back.
    const input = bytes([IAC, IP, DM], 'ABOR\r\nNOOP\r\n');
    for (let cut = 0; cut <= input.length; cut++) {
      expect(decodeSplit(input, [cut])).toEqual([...abortEvents, { kind: 'line', line: 'NOOP' }]);
    }
  });

  it('still gets ABOR through when the urgent DM of IAC DM was lost (IAC then A)', () => {
    // RFC 959 §4.1.3 clients send the Synch (IAC DM) as urgent data: the DM
    // is the urgent byte, and the kernel keeps it back.
    const input = bytes([IAC, IP, IAC], 'ABOR\r\nNOOP\r\n');
    for (let cut = 0; cut <= input.length; cut++) {
      expect(decodeSplit(input, [cut])).toEqual([{ kind: 'telnet', command: 'IP' }, ...lines('ABOR', 'NOOP')]);
    }
  });

  it('keeps a 0xF2 byte that does not follow IAC IP as data', () => {
    expect(decodeSplit(bytes([DM], 'X\r\n'), [])).toEqual([{ kind: 'bad_encoding', bytes: 2 }]);
  });

  it('answers ABOR whose LF was lost as urgent data (Python ftplib) without waiting for the LF', () => {
    const decoder = new LineDecoder();
    decoder.push(bytes('abor\r'));
    expect(decoder.next()).toEqual({ kind: 'line', line: 'abor' });
    expect(decoder.next()).toBeNull();
    // The next command comes through on its own...
    decoder.push(bytes('NOOP\r\n'));
    expect(decoder.next()).toEqual({ kind: 'line', line: 'NOOP' });
  });

  it('swallows the LF of an ABOR CR LF that did arrive, instead of reading an empty line', () => {
    const input = bytes('ABOR\r\nPWD\r\n');
    for (let cut = 0; cut <= input.length; cut++) expect(decodeSplit(input, [cut])).toEqual(lines('ABOR', 'PWD'));
  });

  it('does not cut a pathname at a CR: only a bare ABOR goes out early', () => {
    const input = bytes('RETR ABOR\r', [0], 'x\r\nABORT\r\n');
    expect(oneByteAtATime(input)).toEqual(lines('RETR ABOR\rx', 'ABORT'));
  });
});

describe('LineDecoder: limits and encoding', () => {
  it('accepts a line of exactly MAX_LINE_BYTES', () => {
    const long = `STOR ${'a'.repeat(MAX_LINE_BYTES - 5)}`;
    expect(decodeSplit(Buffer.from(`${long}\r\n`), [1000, 5000])).toEqual(lines(long));
  });

  it('reports an over-long line once, discards it, and decodes the next line', () => {
    const tooLong = `STOR ${'a'.repeat(MAX_LINE_BYTES)}`;
    const input = Buffer.from(`${tooLong}\r\nNOOP\r\n`);
    for (const cuts of [[], [10], [MAX_LINE_BYTES], [MAX_LINE_BYTES + 4, MAX_LINE_BYTES + 6]]) {
      expect(decodeSplit(input, cuts)).toEqual([
        { kind: 'too_long', bytes: tooLong.length },
        { kind: 'line', line: 'NOOP' },
      ]);
    }
  });

  it('keeps memory bounded under a flood of bytes with no line end, then recovers', () => {
    const decoder = new LineDecoder();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let peak = 0;
    for (let i = 0; i < 160; i++) {
      // 10 MiB in all, pulled chunk by chunk as a session would.
      decoder.push(chunk);
      peak = Math.max(peak, decoder.bufferedBytes);
      expect(decoder.next()).toBeNull();
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(MAX_LINE_BYTES);
      expect(decoder.discarding).toBe(true);
    }
    expect(peak).toBeLessThanOrEqual(chunk.length + MAX_LINE_BYTES);
    decoder.push(Buffer.from('\r\nQUIT\r\n'));
    expect(decoder.next()).toEqual({ kind: 'too_long', bytes: 160 * chunk.length });
    expect(decoder.next()).toEqual({ kind: 'line', line: 'QUIT' });
    expect(decoder.next()).toBeNull();
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.discarding).toBe(false);
  });

  it('counts CR NUL as one byte of the line and Telnet commands as none', () => {
    const decoder = new LineDecoder(6);
    const input = bytes('AB', [0x0d, 0x00, IAC, 0xf1, IAC, 0xfb, 0x01], 'CDE\r\nABCDEFG\r\n');
    expect(decodeSplit(input, [], decoder)).toEqual([
      { kind: 'line', line: 'AB\rCDE' },
      { kind: 'too_long', bytes: 7 },
    ]);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['Latin-1 "é"', [0xe9]],
  ])('reports %s as bad_encoding and goes on', (_what, bad) => {
    const input = bytes('RETR ', bad, '\r\nPWD\r\n');
    expect(decodeSplit(input, [6])).toEqual([
      { kind: 'bad_encoding', bytes: 5 + bad.length },
      { kind: 'line', line: 'PWD' },
    ]);
  });

  it('keeps a UTF-8 character split across chunks whole', () => {
    const input = Buffer.from('MKD 日本\r\n', 'utf8');
    for (let cut = 0; cut <= input.length; cut++) expect(decodeSplit(input, [cut])).toEqual(lines('MKD 日本'));
  });
});
