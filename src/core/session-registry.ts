/**
 * The answer to {@link SessionRegistry.admit}: either a place, held until
 * `release()`, or why not (each listener renders the refusal its own way).
 */
export type Admission =
  | { admitted: true }
  | {
      admitted: false;
      reason: 'max_connections' | 'max_connections_per_ip';
      message: string;
    };

/** Options of {@link SessionRegistry}. Each limit is a positive integer, or `Infinity` for none. */
export interface SessionRegistryOptions {
  /** Sessions open at once, all IPs together (`503` beyond). */
  maxConnections: number;
  /** Sessions open at once from one IP (`429` beyond). */
  maxConnectionsPerIp: number;
}

function checkLimit(name: string, value: number): void {
  if (!(value === Infinity || (Number.isInteger(value) && value >= 1))) {
    throw new RangeError(`${name} must be a positive integer or Infinity, got ${value}`);
  }
}

// Frozen so a caller cannot edit the shared refusal objects.
const SERVER_FULL = Object.freeze({
  admitted: false as const,
  reason: 'max_connections' as const,
  message: 'Connection limit reached',
});
const IP_FULL = Object.freeze({
  admitted: false as const,
  reason: 'max_connections_per_ip' as const,
  message: 'Too many connections from your address',
});

/**
 * The sessions open right now, counted in total and per IP (the server
 * passes `addressKey`s: an IPv4 address or an IPv6 /64, so one client
 * cannot spread over its /64). Admission and release are O(1). An IP's
 * count is deleted when it reaches zero, so the map
 * holds only IPs with open sessions, never every IP ever seen.
 */
// One shared object: admitting a session allocates nothing per connection.
const ADMITTED = Object.freeze({ admitted: true as const });

export class SessionRegistry<T> {
  private readonly maxConnections: number;
  private readonly maxConnectionsPerIp: number;
  private readonly items = new Set<T>();
  private readonly perIp = new Map<string, number>();

  constructor(opts: SessionRegistryOptions) {
    checkLimit('maxConnections', opts.maxConnections);
    checkLimit('maxConnectionsPerIp', opts.maxConnectionsPerIp);
    this.maxConnections = opts.maxConnections;
    this.maxConnectionsPerIp = opts.maxConnectionsPerIp;
  }

  /**
   * Takes a place for `item` from `ip`, or says why not: the total limit is
   * checked first, then the per-IP one. The returned
   * `release()` may be called any number of times (a session's close path
   * can run from several events); only the first gives the place back.
   *
   * @throws Error if `item` is already registered (a bug in the caller).
   */
  admit(ip: string, item: T): Admission {
    if (this.items.has(item)) throw new Error('session registered twice');
    if (this.items.size >= this.maxConnections) return SERVER_FULL;
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.maxConnectionsPerIp) return IP_FULL;

    this.items.add(item);
    this.perIp.set(ip, fromIp + 1);
    return ADMITTED;
  }

  /**
   * Give back the place `item` holds for `ip`. Idempotent: a second call for
   * the same item changes nothing (and returns false), so a close path that
   * runs twice cannot free someone else's place.
   */
  release(ip: string, item: T): boolean {
    if (!this.items.delete(item)) return false;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
    return true;
  }

  get size(): number {
    return this.items.size;
  }

  /** Sessions open now from `ip`. */
  countForIp(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** IPs with at least one open session (the per-IP map holds no zero entries). */
  get ipCount(): number {
    return this.perIp.size;
  }

  /**
   * The open sessions, in admission order. Live: sessions released during
   * the loop (by closing them, say) are skipped if not yet reached, so
   * shutdown can close every session while iterating.
   */
  values(): IterableIterator<T> {
    return this.items.values();
  }
}
