import fc from 'fast-check';
import { SocketAddress } from 'node:net';
import {
  DEFAULT_MAX_HEADER_BYTES,
  ProxyHeaderDecoder,
  V1_MAX_BYTES,
  type ProxyDecodeStep,
} from '../../src/cluster/proxy-protocol';
import { inet4, inet6, v1, v1Line, v2, v2Inet4 } from './proxy-bytes';

/** Feed `bytes` in the given pieces; return the step after the last piece (or the first final one). */
function feed(pieces: Buffer[], options?: { maxHeaderBytes?: number }): { step: ProxyDecodeStep; fedPieces: number } {
  const decoder = new ProxyHeaderDecoder(options);
  let step: ProxyDecodeStep = { state: 'need_more' };
  let fedPieces = 0;
  for (const piece of pieces) {
    step = decoder.push(piece);
    fedPieces += 1;
    if (step.state !== 'need_more') break;
  }
  return { step, fedPieces };
}

function whole(bytes: Buffer, options?: { maxHeaderBytes?: number }): ProxyDecodeStep {
  return feed([bytes], options).step;
}

function errorOf(bytes: Buffer, options?: { maxHeaderBytes?: number }): string {
  const step = whole(bytes, options);
  if (step.state !== 'error') throw new Error(`expected an error, got ${JSON.stringify(step)}`);
  return step.reason;
}

const PAYLOAD = Buffer.from('\x00\x00\x00\x1f{"command":"LS","path":"/"}\r\n', 'latin1');

const VALID: Array<[string, Buffer]> = [
  ['v1 TCP4', v1('192.0.2.10', '198.51.100.2', 51234, 5002)],
  ['v1 TCP6', v1('2001:db8::7', '2001:db8::1', 40000, 21)],
  ['v1 UNKNOWN', v1Line('PROXY UNKNOWN')],
  ['v1 UNKNOWN, longest line', v1Line(`PROXY UNKNOWN ${'f'.repeat(39)} ${'f'.repeat(39)} 65535 65535`)],
  ['v2 IPv4', v2Inet4('203.0.113.9', 61000)],
  ['v2 IPv6', v2({ family: 2, addresses: inet6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 9], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 1234, 5002) })],
  ['v2 LOCAL', v2({ command: 0, family: 0, transport: 0 })],
  ['v2 with TLVs', v2({ addresses: inet4('203.0.113.9', '10.0.0.1', 1, 2), tlvs: [[0x05, Buffer.from('abc')], [0xea, Buffer.alloc(40, 7)], [0x04, Buffer.alloc(0)]] })],
];

describe('PROXY protocol decoder: valid headers', () => {
  test('v1 TCP4 gives the client address and port, and the bytes after the line untouched', () => {
    const step = whole(Buffer.concat([v1('192.0.2.10', '198.51.100.2', 51234, 5002), PAYLOAD]));
    expect(step).toEqual({
      state: 'done',
      headerBytes: 47,
      header: {
        version: 1,
        command: 'proxy',
        source: { address: '192.0.2.10', port: 51234, family: 'IPv4' },
        destination: { address: '198.51.100.2', port: 5002, family: 'IPv4' },
      },
      rest: PAYLOAD,
    });
  });

  test('v1 TCP6 addresses come out as Node prints them (lower case, compressed, mapped IPv4 dotted)', () => {
    const step = whole(v1('2001:DB8:0:0:0:0:0:7', '0000:0000:0000:0000:0000:FFFF:C000:0201', 65535, 0));
    expect(step.state === 'done' && step.header).toEqual({
      version: 1,
      command: 'proxy',
      source: { address: '2001:db8::7', port: 65535, family: 'IPv6' },
      destination: { address: '::ffff:192.0.2.1', port: 0, family: 'IPv6' },
    });
  });

  test('v1 UNKNOWN, short and with the optional fields, means "use the socket addresses"', () => {
    expect(whole(v1Line('PROXY UNKNOWN'))).toMatchObject({ state: 'done', header: { version: 1, command: 'unknown' }, headerBytes: 15 });
    const longest = v1Line(`PROXY UNKNOWN ${'f'.repeat(39)} ${'f'.repeat(39)} 65535 65535`);
    expect(longest.length).toBe(V1_MAX_BYTES);
    expect(whole(longest)).toMatchObject({ state: 'done', header: { command: 'unknown' }, headerBytes: 107 });
  });

  test('v2 IPv4 and IPv6 (mapped IPv4 included) give the client address and port', () => {
    expect(whole(Buffer.concat([v2Inet4('203.0.113.9', 61000, '10.1.2.3', 21), PAYLOAD]))).toEqual({
      state: 'done',
      headerBytes: 28,
      header: {
        version: 2,
        command: 'proxy',
        source: { address: '203.0.113.9', port: 61000, family: 'IPv4' },
        destination: { address: '10.1.2.3', port: 21, family: 'IPv4' },
      },
      rest: PAYLOAD,
    });
    const mapped = v2({ family: 2, addresses: inet6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207], [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], 80, 443) });
    expect(whole(mapped)).toMatchObject({
      state: 'done',
      headerBytes: 52,
      header: {
        source: { address: '::ffff:192.0.2.7', port: 80, family: 'IPv6' },
        destination: { address: '2001:db8::1:0:0:1', port: 443, family: 'IPv6' },
      },
    });
  });

  test('v2 LOCAL (a health check) ignores any address block, whatever family it claims', () => {
    expect(whole(Buffer.concat([v2({ command: 0, family: 0, transport: 0 }), PAYLOAD]))).toEqual({
      state: 'done',
      header: { version: 2, command: 'local' },
      headerBytes: 16,
      rest: PAYLOAD,
    });
    const withBlock = v2({ command: 0, family: 1, transport: 1, addresses: inet4('1.2.3.4', '5.6.7.8', 1, 2) });
    expect(whole(withBlock)).toMatchObject({ state: 'done', header: { command: 'local' }, headerBytes: 28 });
  });

  test('v2 families and transports it does not map fall back to "unknown", skipping their blocks', () => {
    for (const [family, transport, size] of [[0, 0, 0], [0, 1, 12], [3, 1, 216], [3, 2, 216], [1, 2, 12], [2, 2, 36], [1, 0, 12]] as const) {
      const header = v2({ family, transport, addresses: Buffer.alloc(size, 0x41) });
      expect(whole(Buffer.concat([header, PAYLOAD]))).toEqual({
        state: 'done',
        header: { version: 2, command: 'unknown' },
        headerBytes: 16 + size,
        rest: PAYLOAD,
      });
    }
  });

  test('v2 TLVs are skipped and the client bytes start right after them', () => {
    const header = v2({
      addresses: inet4('203.0.113.9', '10.0.0.1', 4000, 5002),
      tlvs: [[0x05, Buffer.from('unique-id')], [0x20, Buffer.alloc(300, 1)], [0xea, Buffer.from('vpce-0123')]],
    });
    const step = whole(Buffer.concat([header, PAYLOAD]));
    expect(step).toMatchObject({ state: 'done', headerBytes: header.length, header: { source: { address: '203.0.113.9', port: 4000 } } });
    expect(step.state === 'done' && step.rest).toEqual(PAYLOAD);
  });

  test.each(VALID)('%s: every split point, and byte by byte, decodes the same', (_name, header) => {
    const stream = Buffer.concat([header, PAYLOAD]);
    const expected = whole(stream);
    expect(expected.state).toBe('done');
    for (let cut = 1; cut < stream.length; cut += 1) {
      const { step, fedPieces } = feed([stream.subarray(0, cut), stream.subarray(cut)]);
      // Done as soon as the header is in: on the first piece only when it holds the whole header.
      expect(fedPieces).toBe(cut >= header.length ? 1 : 2);
      if (cut >= header.length) {
        expect(step).toEqual({ ...expected, rest: stream.subarray(header.length, cut) });
      } else {
        expect(step).toEqual(expected);
      }
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    const { step, fedPieces } = feed(bytes);
    expect(fedPieces).toBe(header.length);
    expect(step).toEqual({ ...expected, rest: Buffer.alloc(0) });
  });

  test.each(VALID)('%s: every truncation is "need more", never done or an error', (_name, header) => {
    for (let cut = 0; cut < header.length; cut += 1) {
      expect(whole(header.subarray(0, cut)).state).toBe('need_more');
    }
  });

  test('random valid headers of both versions decode to the addresses Node itself would print', () => {
    const port = fc.integer({ min: 0, max: 65535 });
    const canonical = (a: string) => new SocketAddress({ address: a, family: 'ipv6' }).address;
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), port, port, fc.boolean(), (src, dst, sport, dport, binary) => {
        const header = binary ? v2({ addresses: inet4(src, dst, sport, dport) }) : v1(src, dst, sport, dport);
        const step = whole(header);
        return step.state === 'done' && step.header.command === 'proxy' &&
          step.header.source.address === src && step.header.source.port === sport &&
          step.header.destination.address === dst && step.header.destination.port === dport;
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), port, (groups, sport) => {
        const text = groups.map((g) => g.toString(16).toUpperCase()).join(':');
        const fromText = whole(v1(text, '::1', sport, 1));
        const fromBytes = whole(v2({ family: 2, addresses: inet6(groups, [0, 0, 0, 0, 0, 0, 0, 1], sport, 1) }));
        return fromText.state === 'done' && fromBytes.state === 'done' &&
          fromText.header.command === 'proxy' && fromBytes.header.command === 'proxy' &&
          fromText.header.source.address === canonical(text) && fromBytes.header.source.address === canonical(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PROXY protocol decoder: what a hostile or broken peer sends', () => {
  test('anything that does not start like a header fails on its first bytes', () => {
    expect(errorOf(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('not a PROXY protocol header');
    expect(errorOf(Buffer.from([0x16, 0x03, 0x01]))).toBe('not a PROXY protocol header'); // a TLS ClientHello
    expect(errorOf(Buffer.from([0x00, 0x00, 0x00, 0x1f]))).toBe('not a PROXY protocol header'); // a native frame
    expect(errorOf(Buffer.from('P'.padEnd(2, 'R') + 'X'))).toBe('not a PROXY protocol header'); // "PRX"
    expect(errorOf(Buffer.from('proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n'))).toBe('not a PROXY protocol header');
    expect(errorOf(Buffer.from('PROXY\tTCP4'))).toBe('not a PROXY protocol header');
    expect(errorOf(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]))).toBe('not a PROXY protocol header');
  });

  test('a v1 line without CRLF is refused once 107 bytes have come, not before', () => {
    const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`);
    expect(whole(long.subarray(0, V1_MAX_BYTES - 1)).state).toBe('need_more');
    expect(errorOf(long.subarray(0, V1_MAX_BYTES))).toBe('v1 line has no CRLF within 107 bytes');
    // A CRLF one byte too late is too late.
    const late = v1Line(`PROXY UNKNOWN ${'f'.repeat(92)}`);
    expect(late.length).toBe(V1_MAX_BYTES + 1);
    expect(errorOf(late)).toBe('v1 line has no CRLF within 107 bytes');
    // Split anywhere, the verdict is the same.
    for (let cut = 1; cut < V1_MAX_BYTES; cut += 1) {
      expect(feed([long.subarray(0, cut), long.subarray(cut, 150)]).step).toEqual({ state: 'error', reason: 'v1 line has no CRLF within 107 bytes' });
    }
  });

  test('a v1 line must end in CRLF exactly, and hold printable ASCII only', () => {
    expect(errorOf(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'))).toBe('v1 line ends in LF without CR');
    expect(errorOf(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX'))).toBe('v1 line has a CR without LF');
    expect(errorOf(Buffer.from('PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n', 'latin1'))).toBe('v1 line holds a byte that is not printable ASCII');
    expect(errorOf(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n'))).toBe('v1 line holds a byte that is not printable ASCII');
    expect(errorOf(Buffer.from('PROXY TCP4 1.2.3.\xe9 5.6.7.8 1 2\r\n', 'latin1'))).toBe('v1 line holds a byte that is not printable ASCII');
    // A lone CR is decided only once the next byte shows it is not LF.
    expect(whole(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r')).state).toBe('need_more');
  });

  test.each([
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2', 'v1 protocol is not TCP4, TCP6 or UNKNOWN'],
    ['PROXY UNKNOWNX', 'v1 protocol is not TCP4, TCP6 or UNKNOWN'],
    ['PROXY  TCP4 1.2.3.4 5.6.7.8 1 2', 'v1 protocol is not TCP4, TCP6 or UNKNOWN'],
    ['PROXY TCP4 1.2.3.4  5.6.7.8 1 2', 'v1 line does not have exactly 6 fields'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ', 'v1 line does not have exactly 6 fields'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1', 'v1 line does not have exactly 6 fields'],
    ['PROXY TCP4', 'v1 line does not have exactly 6 fields'],
    ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2', 'v1 address is not a valid IPv4 address'],
    ['PROXY TCP4 1.2.3.256 5.6.7.8 1 2', 'v1 address is not a valid IPv4 address'],
    ['PROXY TCP4 1.2.3 5.6.7.8 1 2', 'v1 address is not a valid IPv4 address'],
    ['PROXY TCP4 ::1 5.6.7.8 1 2', 'v1 address is not a valid IPv4 address'],
    ['PROXY TCP6 1.2.3.4 ::1 1 2', 'v1 address is not a valid IPv6 address'],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2', 'v1 address is not a valid IPv6 address'],
    ['PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2', 'v1 address is not a valid IPv6 address'],
    ['PROXY TCP6 1::2::3 ::1 1 2', 'v1 address is not a valid IPv6 address'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2', 'v1 port is not a number in 0-65535'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 65536 2', 'v1 port is not a number in 0-65535'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 -1 2', 'v1 port is not a number in 0-65535'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10', 'v1 port is not a number in 0-65535'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 999999', 'v1 port is not a number in 0-65535'],
  ])('v1 %j is refused', (line, reason) => {
    expect(errorOf(v1Line(line))).toBe(reason);
  });

  test('v2 with a wrong version, command, family or transport is refused as soon as that byte arrives', () => {
    const bad: Array<[Buffer, string]> = [
      [v2({ version: 1 }), 'v2 version is not 2'],
      [v2({ version: 3 }), 'v2 version is not 2'],
      [v2({ command: 2 }), 'v2 command is neither LOCAL nor PROXY'],
      [v2({ command: 0xf }), 'v2 command is neither LOCAL nor PROXY'],
      [v2({ family: 4 }), 'v2 address family or transport is undefined'],
      [v2({ transport: 3 }), 'v2 address family or transport is undefined'],
    ];
    for (const [header, reason] of bad) {
      const decisive = reason.includes('family') ? 14 : 13;
      expect(whole(header.subarray(0, decisive - 1)).state).toBe('need_more');
      expect(errorOf(header.subarray(0, decisive))).toBe(reason);
    }
  });

  test('a v2 length over the bound is refused from the fixed 16 bytes, before any body is held', () => {
    const header = v2({ addresses: inet4('1.2.3.4', '5.6.7.8', 1, 2), length: 65535 });
    expect(errorOf(header.subarray(0, 16))).toBe(`v2 header of 65551 bytes is over the limit of ${DEFAULT_MAX_HEADER_BYTES}`);
    const fits = v2({ addresses: inet4('1.2.3.4', '5.6.7.8', 1, 2), tlvs: [[0x04, Buffer.alloc(DEFAULT_MAX_HEADER_BYTES - 16 - 12 - 3)]] });
    expect(fits.length).toBe(DEFAULT_MAX_HEADER_BYTES);
    expect(whole(fits).state).toBe('done');
    const over = v2({ addresses: inet4('1.2.3.4', '5.6.7.8', 1, 2), tlvs: [[0x04, Buffer.alloc(DEFAULT_MAX_HEADER_BYTES - 16 - 12 - 2)]] });
    expect(errorOf(over)).toBe(`v2 header of ${DEFAULT_MAX_HEADER_BYTES + 1} bytes is over the limit of ${DEFAULT_MAX_HEADER_BYTES}`);
    expect(errorOf(over, { maxHeaderBytes: 200 })).toMatch(/over the limit of 200$/);
  });

  test('a v2 address block too short for its family, or TLVs that do not tile the rest, are refused', () => {
    expect(errorOf(v2({ family: 1, addresses: Buffer.alloc(11) }))).toBe('v2 address block is shorter than its family needs');
    expect(errorOf(v2({ family: 2, addresses: Buffer.alloc(35) }))).toBe('v2 address block is shorter than its family needs');
    const addresses = inet4('1.2.3.4', '5.6.7.8', 1, 2);
    expect(errorOf(v2({ addresses: Buffer.concat([addresses, Buffer.from([0x05, 0x00])]) }))).toBe('v2 TLV is cut short');
    expect(errorOf(v2({ addresses: Buffer.concat([addresses, Buffer.from([0x05, 0x00, 0x09, 0x41])]) }))).toBe('v2 TLV runs past the header length');
  });

  test('random bytes never crash it, and it never holds more than its bound', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, ...b])),
          fc.string({ maxLength: 150 }).map((s) => new TextEncoder().encode(`PROXY ${s}`)),
        ),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
        (bytes, cuts) => {
          const decoder = new ProxyHeaderDecoder({ maxHeaderBytes: 256 });
          let at = 0;
          for (const size of [...cuts, bytes.length]) {
            if (at >= bytes.length) break;
            const step = decoder.push(Buffer.from(bytes.subarray(at, at + size)));
            at += size;
            if (step.state !== 'need_more') return true;
            if (decoder.bufferedBytes > 256) return false;
          }
          return decoder.bufferedBytes <= 256;
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a finished decoder takes nothing more, and the bound cannot be set below a v1 line', () => {
    const decoder = new ProxyHeaderDecoder();
    expect(decoder.push(v1Line('PROXY UNKNOWN')).state).toBe('done');
    expect(() => decoder.push(Buffer.from('x'))).toThrow('already finished');
    expect(() => new ProxyHeaderDecoder({ maxHeaderBytes: 100 })).toThrow(RangeError);
  });
});
