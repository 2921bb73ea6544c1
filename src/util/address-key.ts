/**
 * The one client identity every per-address limit counts by: connection
 * caps, the new-connection rate, failed-login bans, logins in flight and the
 * throttle of refusal log lines. If two limits keyed differently, the looser
 * key would be the real limit (an IPv6 client rotating through its /64 would
 * hold every connection slot while its failed logins were counted as one).
 *
 * Pure string work, no I/O: used by `src/server/` and `src/auth/` alike.
 */
import net from 'node:net';

/** `::ffff:1.2.3.4` (an IPv4 client on a `::` listener) and `1.2.3.4` are one client. */
export function normaliseIp(address: string | undefined): string {
  if (!address) return 'unknown';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * The unit an attacker pays for: an IPv4 address, or an IPv6 /64 written
 * `a:b:c:d::/64`. One subscriber usually holds a whole /64, so keying by
 * single IPv6 addresses would let one attacker rotate through 2^64 of them.
 * IPv4-mapped and NAT64 (`64:ff9b::/96`) addresses count as the IPv4 client
 * they carry. Anything that is not an address is its own key. Idempotent:
 * the key of a key is itself.
 */
export function addressKey(address: string): string {
  const ip = normaliseIp(address);
  if (!ip.includes(':')) return ip;
  const groups = ipv6Groups(ip.split('%')[0]);
  if (!groups) return ip;
  if (groups.slice(0, 6).join() === [0x64, 0xff9b, 0, 0, 0, 0].join()) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, or `undefined` if it is not one. */
function ipv6Groups(text: string): number[] | undefined {
  if (!net.isIPv6(text)) return undefined;
  const parse = (part: string | undefined): number[] =>
    part
      ? part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  // isIPv6 guarantees at most one '::'.
  const [head, tail] = text.split('::');
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
