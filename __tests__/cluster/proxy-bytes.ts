/**
 * PROXY protocol headers built byte by byte from the spec, for the decoder's
 * tests and for fake load balancers. Written independently of the decoder so
 * that a misreading of the spec cannot cancel out.
 */
import { isIPv4 } from 'node:net';

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** `PROXY TCP4|TCP6 src dst sport dport\r\n` exactly as given (no validation). */
export function v1(src: string, dst: string, sport: number | string, dport: number | string): Buffer {
  const family = isIPv4(src) ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${family} ${src} ${dst} ${sport} ${dport}\r\n`, 'ascii');
}

/** A raw v1 line: `text` plus CRLF. */
export function v1Line(text: string): Buffer {
  return Buffer.from(`${text}\r\n`, 'latin1');
}

export interface V2Options {
  /** 0 LOCAL, 1 PROXY (other values to test refusal). */
  command?: number;
  version?: number;
  /** High nibble of byte 14: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX. */
  family?: number;
  /** Low nibble of byte 14: 0 UNSPEC, 1 STREAM, 2 DGRAM. */
  transport?: number;
  /** The address block, as raw bytes. */
  addresses?: Buffer;
  /** TLVs appended after the addresses: [type, value]. */
  tlvs?: Array<[number, Buffer]>;
  /** Override the length field (to lie about it). */
  length?: number;
}

/** A v2 header from its parts. */
export function v2(options: V2Options = {}): Buffer {
  const body = Buffer.concat([
    options.addresses ?? Buffer.alloc(0),
    ...(options.tlvs ?? []).map(([type, value]) => {
      const head = Buffer.alloc(3);
      head[0] = type;
      head.writeUInt16BE(value.length, 1);
      return Buffer.concat([head, value]);
    }),
  ]);
  const fixed = Buffer.alloc(16);
  Buffer.from(SIGNATURE).copy(fixed);
  fixed[12] = ((options.version ?? 2) << 4) | (options.command ?? 1);
  fixed[13] = ((options.family ?? 1) << 4) | (options.transport ?? 1);
  fixed.writeUInt16BE(options.length ?? body.length, 14);
  return Buffer.concat([fixed, body]);
}

/** The v2 address block of a TCP/IPv4 connection. */
export function inet4(src: string, dst: string, sport: number, dport: number): Buffer {
  const block = Buffer.alloc(12);
  src.split('.').forEach((n, i) => (block[i] = Number(n)));
  dst.split('.').forEach((n, i) => (block[4 + i] = Number(n)));
  block.writeUInt16BE(sport, 8);
  block.writeUInt16BE(dport, 10);
  return block;
}

/** The v2 address block of a TCP/IPv6 connection; addresses as 8 groups of hex. */
export function inet6(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const block = Buffer.alloc(36);
  src.forEach((g, i) => block.writeUInt16BE(g, 2 * i));
  dst.forEach((g, i) => block.writeUInt16BE(g, 16 + 2 * i));
  block.writeUInt16BE(sport, 32);
  block.writeUInt16BE(dport, 34);
  return block;
}

/** A full v2 PROXY header for a TCP/IPv4 client, as HAProxy's send-proxy-v2 sends it. */
export function v2Inet4(src: string, sport: number, dst = '127.0.0.1', dport = 5002): Buffer {
  return v2({ command: 1, family: 1, transport: 1, addresses: inet4(src, dst, sport, dport) });
}
