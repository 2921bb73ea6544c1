/**
 * IP address text and CIDR lists, on Node's own `net.SocketAddress` and
 * `net.BlockList` (pure values: nothing here opens a socket). Addresses come
 * out in the form `socket.remoteAddress` uses (`2001:db8::1`,
 * `::ffff:192.0.2.1`), so a client seen through a PROXY header and one seen
 * directly get the same log label and the same per-IP limit key.
 */
import { BlockList, SocketAddress, isIPv4, isIPv6 } from 'node:net';

/** The family names Node uses in `socket.remoteFamily`. */
export type IpFamily = 'IPv4' | 'IPv6';

/** IPv6 text may hold hex digits, colons and an embedded dotted quad; never a `%zone`. */
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

/**
 * The canonical text of `text` as an address of `family`, or undefined when
 * it is not one. IPv4 must be four decimal numbers without leading zeros (a
 * leading zero reads as octal to some parsers: `010.0.0.1` is refused, not
 * guessed). IPv6 is compressed and lower-cased as Node prints it.
 */
export function canonicalIp(text: string, family: IpFamily): string | undefined {
  if (family === 'IPv4') return isIPv4(text) ? text : undefined;
  if (!IPV6_CHARS.test(text) || !isIPv6(text)) return undefined;
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

/** Four bytes at `offset` as dotted-quad text. */
export function ipv4FromBytes(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Sixteen bytes at `offset` as canonical IPv6 text (`::ffff:a.b.c.d` for mapped IPv4). */
export function ipv6FromBytes(bytes: Buffer, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(offset + i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** Thrown for a malformed `--trusted-proxies` entry; the message names it. */
export class TrustedProxiesError extends Error {
  override readonly name = 'TrustedProxiesError';
}

/**
 * The load balancers allowed to send a PROXY header (`--trusted-proxies`):
 * IPv4 and IPv6 addresses and CIDR blocks. An IPv4 block also matches the
 * same address seen as IPv4-mapped IPv6 (`::ffff:10.0.0.5` on a `::`
 * listener).
 */
export class TrustedProxies {
  private constructor(
    private readonly blocks: BlockList,
    /** The entries as given, normalised (for logs and --print-config). */
    readonly entries: readonly string[],
  ) {}

  /**
   * Parse a comma-separated list (or an array of entries): `10.0.0.0/8`,
   * `192.0.2.7`, `fd00::/8`, `::1`. Throws {@link TrustedProxiesError} for an
   * empty list (a PROXY listener trusting nobody would refuse every
   * connection) or any entry that is not an address or a block.
   */
  static parse(list: string | readonly string[]): TrustedProxies {
    const raw = typeof list === 'string' ? list.split(',') : list;
    const entries = raw.map((e) => e.trim()).filter((e) => e.length > 0);
    if (entries.length === 0) {
      throw new TrustedProxiesError('--trusted-proxies is empty: list the load balancer addresses (e.g. 10.0.0.0/24)');
    }
    const blocks = new BlockList();
    const normalised = entries.map((entry) => addEntry(blocks, entry));
    return new TrustedProxies(blocks, normalised);
  }

  /** True when `address` (as in `socket.remoteAddress`) is a trusted proxy. */
  includes(address: string | undefined): boolean {
    if (address === undefined) return false;
    if (isIPv4(address)) return this.blocks.check(address, 'ipv4');
    if (isIPv6(address)) return this.blocks.check(address.split('%')[0], 'ipv6');
    return false;
  }
}

function addEntry(blocks: BlockList, entry: string): string {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  const family: IpFamily | undefined = isIPv4(addressText) ? 'IPv4' : isIPv6(addressText) ? 'IPv6' : undefined;
  const address = family && canonicalIp(addressText, family);
  if (!family || !address) {
    throw new TrustedProxiesError(`--trusted-proxies: '${entry}' is not an IP address or CIDR block`);
  }
  const maxPrefix = family === 'IPv4' ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      throw new TrustedProxiesError(`--trusted-proxies: '${entry}' has a prefix length outside 0-${maxPrefix}`);
    }
    prefix = Number(prefixText);
  }
  blocks.addSubnet(address, prefix, family === 'IPv4' ? 'ipv4' : 'ipv6');
  return `${address}/${prefix}`;
}
