/**
 * Data-connection addresses: parsing PORT/EPRT/EPSV arguments, formatting
 * the 227/229 replies, the FTP-bounce rule, and checking the passive options.
 * Pure functions on strings; opening sockets is the listener's job.
 */

/** A TCP endpoint named by a client or advertised by the server. */
export interface DataAddress {
  /** Canonical IP text: dotted IPv4, or compressed lower-case IPv6. */
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Why an argument was refused: `syntax` is answered 501; `protocol` (a
 * network protocol other than IPv4/IPv6 in EPRT/EPSV) is answered 522 with
 * the list of supported ones (RFC 2428 §2).
 */
export type AddressError = { error: 'syntax' | 'protocol'; message: string };

/** The 522 text of RFC 2428 §2, listing what this server speaks. */
export const NETWORK_PROTOCOLS_TEXT = 'Network protocol not supported, use (1,2)';

const DECIMAL = /^\d{1,3}$/;
const PORT_DIGITS = /^\d{1,5}$/;

/** Strict dotted-quad IPv4: four decimal numbers 0-255, nothing else. */
export function parseIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => DECIMAL.test(p) && Number(p) <= 255)) return undefined;
  // Number() drops leading zeros, so "010" reads as ten, never as octal eight.
  return parts.map(Number).join('.');
}

/**
 * A strict IPv6 literal in canonical form, via the WHATWG URL parser (a pure
 * function that every Node has): it compresses zeros, lower-cases, and
 * refuses zone ids and malformed text.
 */
export function parseIPv6(text: string): string | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * The canonical form of a socket address for comparing two of them: an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a dual-stack listener
 * reports IPv4 peers) becomes plain IPv4. `undefined` when not an IP literal.
 */
export function canonicalIp(text: string): string | undefined {
  const v4 = parseIPv4(text);
  if (v4) return v4;
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function parsePort(text: string): number | undefined {
  if (!PORT_DIGITS.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * `PORT h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): six decimal numbers 0-255,
 * comma-separated, no spaces; the port is p1·256+p2 and may not be 0.
 */
export function parsePortArgument(arg: string): DataAddress | AddressError {
  const fields = arg.split(',');
  if (fields.length !== 6 || !fields.every((f) => DECIMAL.test(f) && Number(f) <= 255)) {
    return { error: 'syntax', message: 'PORT needs h1,h2,h3,h4,p1,p2 (six numbers 0-255)' };
  }
  const n = fields.map(Number);
  const port = (n[4]) * 256 + (n[5]);
  if (port === 0) return { error: 'syntax', message: 'PORT: port 0 is not valid' };
  return { host: n.slice(0, 4).join('.'), port, family: 4 };
}

/**
 * `EPRT <d>proto<d>address<d>port<d>` (RFC 2428 §2): the delimiter is any
 * printable ASCII character but space (33-126); `|` is usual. proto 1 takes
 * a dotted IPv4 address, 2 an IPv6 literal.
 */
export function parseEprtArgument(arg: string): DataAddress | AddressError {
  const syntax: AddressError = { error: 'syntax', message: 'EPRT needs |proto|address|port|' };
  const d = arg.charCodeAt(0);
  if (!(d >= 33 && d <= 126)) return syntax;
  const fields = arg.split(arg[0]);
  if (fields.length !== 5 || fields[0] !== '' || fields[4] !== '') return syntax;
  const [, proto, address, portText] = fields as [string, string, string, string, string];
  const port = parsePort(portText);
  if (port === undefined) return syntax;
  if (proto === '1') {
    const host = parseIPv4(address);
    return host ? { host, port, family: 4 } : syntax;
  }
  if (proto === '2') {
    const host = parseIPv6(address);
    return host ? { host, port, family: 6 } : syntax;
  }
  return /^\d+$/.test(proto) ? { error: 'protocol', message: NETWORK_PROTOCOLS_TEXT } : syntax;
}

/** What `EPSV [arg]` asks for (RFC 2428 §3): any family, one family, or `ALL`. */
export type EpsvRequest = { kind: 'any' } | { kind: 'family'; family: 4 | 6 } | { kind: 'all' };

/** Parse the EPSV argument: none, `1`, `2` or `ALL` (any case). */
export function parseEpsvArgument(arg: string): EpsvRequest | AddressError {
  if (arg === '') return { kind: 'any' };
  if (arg.toUpperCase() === 'ALL') return { kind: 'all' };
  if (arg === '1') return { kind: 'family', family: 4 };
  if (arg === '2') return { kind: 'family', family: 6 };
  if (/^\d+$/.test(arg)) return { error: 'protocol', message: NETWORK_PROTOCOLS_TEXT };
  return { error: 'syntax', message: 'EPSV takes 1, 2 or ALL' };
}

/** The text of the 227 reply: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).` */
export function passiveReplyText(ipv4: string, port: number): string {
  const host = parseIPv4(ipv4);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot advertise ${ipv4}:${port} in a 227 reply`);
  }
  return `Entering Passive Mode (${host.split('.').join(',')},${port >> 8},${port & 0xff}).`;
}

/** The text of the 229 reply (RFC 2428 §3): `Entering Extended Passive Mode (|||port|)`. */
export function extendedPassiveReplyText(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`Bad port ${port}`);
  return `Entering Extended Passive Mode (|||${port}|)`;
}

/** Lowest port an active (PORT/EPRT) connection may target. */
export const MIN_ACTIVE_PORT = 1024;

/** The FTP-bounce check's verdict. */
export type ActiveTargetCheck = { ok: true } | { ok: false; reason: 'foreign_address' | 'privileged_port' };

/**
 * The FTP-bounce rule (RFC 2577 §3; ftp-srv's CVE-2020-15152): the server
 * connects out only to the address the control connection comes from, and
 * only to a port >= 1024, so a client cannot make it talk to a third host or
 * to a well-known service (SMTP, the admin port...) on its own behalf.
 */
export function checkActiveTarget(target: DataAddress, controlPeer: string): ActiveTargetCheck {
  const peer = canonicalIp(controlPeer);
  const wanted = canonicalIp(target.host);
  if (peer === undefined || wanted === undefined || peer !== wanted) return { ok: false, reason: 'foreign_address' };
  if (target.port < MIN_ACTIVE_PORT) return { ok: false, reason: 'privileged_port' };
  return { ok: true };
}

/** A passive port range, both ends included. */
export interface PortRange {
  min: number;
  max: number;
}

/**
 * `--pasv-ports MIN-MAX`. Both ends in 1024-65535 (a port below 1024 needs
 * root and belongs to a well-known service; the bounce rule refuses them as
 * active targets too), MIN <= MAX. Returns an error text for the CLI.
 */
export function parsePassivePortRange(text: string): PortRange | { error: string } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  if (!match) return { error: `--pasv-ports must look like MIN-MAX (for example 50000-50100), got "${text}"` };
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min < MIN_ACTIVE_PORT || max > 65535) return { error: `--pasv-ports must lie within ${MIN_ACTIVE_PORT}-65535` };
  if (min > max) return { error: `--pasv-ports: MIN (${min}) is greater than MAX (${max})` };
  return { min, max };
}

/**
 * `--pasv-address ADDR`: an IPv4 literal, because a 227 reply can carry
 * nothing else. A host name would need a DNS lookup at every PASV (and may
 * resolve to IPv6); on EC2 give the instance's public (Elastic) IPv4.
 */
export function parsePassiveAddress(text: string): string | { error: string } {
  return parseIPv4(text.trim()) ?? { error: `--pasv-address must be an IPv4 address such as 203.0.113.7, got "${text}"` };
}

/**
 * The IPv4 address to put in a 227 reply: the configured `--pasv-address`,
 * else the control connection's local address if it is IPv4 (mapped or not).
 * `undefined` when the control connection is true IPv6 and nothing is
 * configured: 227 cannot express that address, so the session refuses PASV
 * and the client uses EPSV, as RFC 2428 intends (curl, ftplib, basic-ftp and
 * FileZilla all use EPSV on IPv6).
 */
export function passiveAdvertisedAddress(configured: string | undefined, controlLocal: string): string | undefined {
  if (configured !== undefined) return configured;
  const local = canonicalIp(controlLocal);
  return local !== undefined && parseIPv4(local) !== undefined ? local : undefined;
}
