/**
 * A sans-I/O decoder of the PROXY protocol header (HAProxy's
 * proxy-protocol.txt, versions 1 and 2) that a load balancer sends before
 * the client's first byte. It is fed chunks as they arrive, split anywhere,
 * and answers "need more", "done" (with the bytes after the header, which
 * belong to the client) or "error". It never sees a socket: the listener
 * (proxy-listener.ts) owns timeouts and closing.
 *
 * Strictness follows the spec: anything that does not match exactly is an
 * error, and the connection must then be dropped. Errors are decided as early
 * as the bytes allow (a first byte that is neither `P` nor `\r` fails at
 * once), and the bytes held are bounded: 107 for v1, `maxHeaderBytes` for v2.
 */
import { canonicalIp, ipv4FromBytes, ipv6FromBytes, type IpFamily } from './addresses';

/** One end of the proxied connection. */
export interface ProxyEndpoint {
  address: string;
  port: number;
  family: IpFamily;
}

/**
 * What the header said.
 * - `proxy`: a relayed connection; `source` is the real client.
 * - `local`: (v2) the proxy's own connection, e.g. a health check: use the socket's addresses.
 * - `unknown`: v1 `UNKNOWN`, or a v2 family/transport this TCP server does not map
 *   (AF_UNSPEC, AF_UNIX, UDP): the spec says to fall back to the socket's addresses.
 */
export type ProxyHeader =
  | { version: 1 | 2; command: 'proxy'; source: ProxyEndpoint; destination: ProxyEndpoint }
  | { version: 2; command: 'local' }
  | { version: 1 | 2; command: 'unknown' };

/** One step of {@link ProxyHeaderDecoder.push}. */
export type ProxyDecodeStep =
  | { state: 'need_more' }
  /** `rest`: the bytes after the header, to be handed on unread. */
  | { state: 'done'; header: ProxyHeader; headerBytes: number; rest: Buffer }
  /** `reason` is safe to log (it never quotes the peer's bytes). */
  | { state: 'error'; reason: string };

/** The longest v1 line, CRLF included (spec §2.1). */
export const V1_MAX_BYTES = 107;
/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE: Readonly<Buffer> = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Fixed part of a v2 header: signature, version/command, family, length. */
export const V2_FIXED_BYTES = 16;
/**
 * Default bound on a whole v2 header. Addresses take at most 216 bytes
 * (AF_UNIX); the rest is room for TLVs (AWS NLB and HAProxy's SSL TLVs use
 * well under a kilobyte). The field itself allows 64 KiB, which a receiver
 * need not buffer for anyone.
 */
export const DEFAULT_MAX_HEADER_BYTES = 2048;

const V1_PREFIX = Buffer.from('PROXY ', 'ascii');
const CR = 0x0d;
const LF = 0x0a;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** Feeds chunks in, says when a whole header has arrived; one decoder per connection. */
export class ProxyHeaderDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private finished = false;
  private readonly maxHeaderBytes: number;

  constructor(options: { maxHeaderBytes?: number } = {}) {
    const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    if (!Number.isInteger(max) || max < V1_MAX_BYTES) {
      throw new RangeError(`maxHeaderBytes must be an integer of at least ${V1_MAX_BYTES}, got ${max}`);
    }
    this.maxHeaderBytes = max;
  }

  /** Add the next bytes from the peer. After `done` or `error` the decoder takes nothing more. */
  push(chunk: Buffer): ProxyDecodeStep {
    if (this.finished) throw new Error('ProxyHeaderDecoder already finished');
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const step = decode(this.buffered, this.maxHeaderBytes);
    if (step.state !== 'need_more') {
      this.finished = true;
      this.buffered = Buffer.alloc(0);
    }
    return step;
  }

  /** Bytes held while waiting for the rest of the header. */
  get bufferedBytes(): number {
    return this.buffered.length;
  }
}

/** Decide what `bytes` (everything received so far) amount to. */
export function decode(bytes: Buffer, maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES): ProxyDecodeStep {
  if (bytes.length === 0) return NEED_MORE;
  if (bytes[0] === V2_SIGNATURE[0]) return decodeV2(bytes, maxHeaderBytes);
  if (bytes[0] === V1_PREFIX[0]) return decodeV1(bytes);
  return fail('not a PROXY protocol header');
}

const NEED_MORE: ProxyDecodeStep = Object.freeze({ state: 'need_more' });

function fail(reason: string): ProxyDecodeStep {
  return { state: 'error', reason };
}

function decodeV1(bytes: Buffer): ProxyDecodeStep {
  const prefix = Math.min(bytes.length, V1_PREFIX.length);
  if (!bytes.subarray(0, prefix).equals(V1_PREFIX.subarray(0, prefix))) return fail('not a PROXY protocol header');
  const scan = Math.min(bytes.length, V1_MAX_BYTES);
  for (let i = 0; i < scan; i += 1) {
    const byte = bytes[i];
    if (byte === CR) {
      // The CRLF itself must fit within the 107 bytes.
      if (i + 2 > V1_MAX_BYTES) break;
      if (i + 1 === bytes.length) return NEED_MORE;
      if (bytes[i + 1] !== LF) return fail('v1 line has a CR without LF');
      return finishV1(bytes, i);
    }
    if (byte === LF) return fail('v1 line ends in LF without CR');
    if (byte < 0x20 || byte > 0x7e) return fail('v1 line holds a byte that is not printable ASCII');
  }
  if (bytes.length >= V1_MAX_BYTES) return fail(`v1 line has no CRLF within ${V1_MAX_BYTES} bytes`);
  return NEED_MORE;
}

/** `cr` is the index of the CR of the line's CRLF. */
function finishV1(bytes: Buffer, cr: number): ProxyDecodeStep {
  const line = bytes.toString('ascii', 0, cr);
  const headerBytes = cr + 2;
  const done = (header: ProxyHeader): ProxyDecodeStep => ({ state: 'done', header, headerBytes, rest: bytes.subarray(headerBytes) });
  // "UNKNOWN": the receiver must ignore whatever follows it on the line.
  if (line === 'PROXY UNKNOWN' || line.startsWith('PROXY UNKNOWN ')) return done({ version: 1, command: 'unknown' });
  const fields = line.split(' ');
  const family: IpFamily | undefined = fields[1] === 'TCP4' ? 'IPv4' : fields[1] === 'TCP6' ? 'IPv6' : undefined;
  if (!family) return fail('v1 protocol is not TCP4, TCP6 or UNKNOWN');
  if (fields.length !== 6) return fail('v1 line does not have exactly 6 fields');
  const source = canonicalIp(fields[2], family);
  const destination = canonicalIp(fields[3], family);
  if (!source || !destination) return fail(`v1 address is not a valid ${family} address`);
  const sourcePort = parsePort(fields[4]);
  const destinationPort = parsePort(fields[5]);
  if (sourcePort === undefined || destinationPort === undefined) return fail('v1 port is not a number in 0-65535');
  return done({
    version: 1,
    command: 'proxy',
    source: { address: source, port: sourcePort, family },
    destination: { address: destination, port: destinationPort, family },
  });
}

function parsePort(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

function decodeV2(bytes: Buffer, maxHeaderBytes: number): ProxyDecodeStep {
  const signature = Math.min(bytes.length, V2_SIGNATURE.length);
  if (!bytes.subarray(0, signature).equals(V2_SIGNATURE.subarray(0, signature))) return fail('not a PROXY protocol header');
  if (bytes.length > 12 && bytes[12] >> 4 !== 2) return fail('v2 version is not 2');
  if (bytes.length > 12 && (bytes[12] & 0x0f) > 1) return fail('v2 command is neither LOCAL nor PROXY');
  if (bytes.length > 13 && (bytes[13] >> 4 > 3 || (bytes[13] & 0x0f) > 2)) return fail('v2 address family or transport is undefined');
  if (bytes.length < V2_FIXED_BYTES) return NEED_MORE;
  const total = V2_FIXED_BYTES + bytes.readUInt16BE(14);
  if (total > maxHeaderBytes) return fail(`v2 header of ${total} bytes is over the limit of ${maxHeaderBytes}`);
  if (bytes.length < total) return NEED_MORE;

  const done = (header: ProxyHeader): ProxyDecodeStep => ({ state: 'done', header, headerBytes: total, rest: bytes.subarray(total) });
  // LOCAL: the proxy speaking for itself; the spec says to ignore the
  // address block whatever family it claims.
  if ((bytes[12] & 0x0f) === 0) return done({ version: 2, command: 'local' });
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  // Valid combinations this server does not map (UNSPEC, UNIX, UDP) fall
  // back to the socket's own addresses, as the spec asks.
  if ((family !== 1 && family !== 2) || transport !== 1) return done({ version: 2, command: 'unknown' });

  const width = family === 1 ? 4 : 16;
  const addressEnd = V2_FIXED_BYTES + 2 * width + 4;
  if (total < addressEnd) return fail('v2 address block is shorter than its family needs');
  const tlvError = checkTlvs(bytes, addressEnd, total);
  if (tlvError) return fail(tlvError);
  const read = family === 1 ? ipv4FromBytes : ipv6FromBytes;
  const ipFamily: IpFamily = family === 1 ? 'IPv4' : 'IPv6';
  const ports = V2_FIXED_BYTES + 2 * width;
  return done({
    version: 2,
    command: 'proxy',
    source: { address: read(bytes, V2_FIXED_BYTES), port: bytes.readUInt16BE(ports), family: ipFamily },
    destination: { address: read(bytes, V2_FIXED_BYTES + width), port: bytes.readUInt16BE(ports + 2), family: ipFamily },
  });
}

/**
 * TLVs after the addresses are skipped, but they must tile the rest of the
 * header exactly: a TLV running past the declared length means the sender
 * and we disagree on where the client's bytes begin.
 */
function checkTlvs(bytes: Buffer, start: number, end: number): string | undefined {
  let at = start;
  while (at < end) {
    if (end - at < 3) return 'v2 TLV is cut short';
    at += 3 + bytes.readUInt16BE(at + 1);
    if (at > end) return 'v2 TLV runs past the header length';
  }
  return undefined;
}
