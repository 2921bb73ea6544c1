import type { Clock } from '../util/clock';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Acquisitions admitted per IP in any window; 0 turns the limiter off. */
  limit: number;
  /** Length of the sliding window, in milliseconds. */
  windowMs: number;
  clock: Clock;
  /**
   * Most IPs remembered at once (default {@link DEFAULT_MAX_TRACKED_IPS}).
   * Past it the IP whose last admission is oldest is forgotten.
   */
  maxTrackedIps?: number;
}

/** About 100 MB in the worst case (every IP holding a full default window of 120 stamps). */
export const DEFAULT_MAX_TRACKED_IPS = 100_000;

/**
 * The admitted times of one IP, oldest at `head`. The array grows to `limit`
 * and then works as a ring, so an IP never costs more than `limit` numbers.
 */
interface Window {
  stamps: number[];
  head: number;
  /** The newest admission: once it has expired, so has everything else. */
  last: number;
}

/**
 * Per-client sliding-window limiter for new connections: at most `limit`
 * admissions per key within any `windowMs` (refused attempts do not count).
 * An admission at `t` stops counting at exactly `t + windowMs`. The server
 * keys it by `addressKey` (an IPv4 address or an IPv6 /64), like every
 * other per-address limit; "IP" below means such a key.
 *
 * Memory is bounded twice. Windows whose newest stamp has expired are pruned
 * on every call; the map is kept in order of last admission, so pruning reads
 * only from its front and costs O(1) amortised. And at most `maxTrackedIps`
 * IPs are kept: past that the least recently admitted IP is forgotten. The
 * trade-off is deliberate: a flood from more distinct addresses than the cap
 * (a botnet) can make the limiter forget an IP and admit it afresh,
 * which fails open on a bounded heap rather than growing without limit.
 *
 * Time comes from the injected clock. If it steps backwards, stamps from the
 * "future" stop counting (fail open) rather than locking IPs out until the
 * wall clock catches up.
 */
export class RateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  private readonly maxTrackedIps: number;
  private readonly windows = new Map<string, Window>();

  constructor(opts: RateLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 0) {
      throw new RangeError(`rate limit must be a non-negative integer, got ${opts.limit}`);
    }
    if (opts.limit > 0 && !(Number.isFinite(opts.windowMs) && opts.windowMs > 0)) {
      throw new RangeError(`rate window must be a positive number of ms, got ${opts.windowMs}`);
    }
    const maxTracked = opts.maxTrackedIps ?? DEFAULT_MAX_TRACKED_IPS;
    if (!Number.isInteger(maxTracked) || maxTracked < 1) {
      throw new RangeError(`maxTrackedIps must be a positive integer, got ${maxTracked}`);
    }
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.clock = opts.clock;
    this.maxTrackedIps = maxTracked;
  }

  /** Records an attempt by `ip`; true if it is admitted (and counted), false if over the limit. */
  tryAcquire(ip: string): boolean {
    if (this.limit === 0) return true;
    const now = this.clock.now();
    this.prune(now);

    const win = this.windows.get(ip);
    if (!win) {
      this.evictForRoom();
      this.windows.set(ip, { stamps: [now], head: 0, last: now });
      return true;
    }

    if (win.stamps.length < this.limit) {
      win.stamps.push(now);
    } else {
      // Full ring: stamps run oldest-first from head, so if the oldest still
      // counts, all `limit` do.
      if (this.counts(win.stamps[win.head], now)) return false;
      win.stamps[win.head] = now;
      win.head = (win.head + 1) % this.limit;
    }
    win.last = now;
    // Move to the back: the map stays ordered by last admission, which is
    // what prune() and eviction read from the front.
    this.windows.delete(ip);
    this.windows.set(ip, win);
    return true;
  }

  /** IPs currently remembered (windows not yet pruned included). */
  get trackedIps(): number {
    return this.windows.size;
  }

  /** Whether an admission at `stamp` still counts at `now` (see the class note on clock steps). */
  private counts(stamp: number, now: number): boolean {
    const age = now - stamp;
    return age >= 0 && age < this.windowMs;
  }

  /** Drops expired windows from the front; each window is dropped once, so the cost is amortised. */
  private prune(now: number): void {
    for (const [ip, win] of this.windows) {
      if (this.counts(win.last, now)) break;
      this.windows.delete(ip);
    }
  }

  private evictForRoom(): void {
    while (this.windows.size >= this.maxTrackedIps) {
      const oldest = this.windows.keys().next();
      if (oldest.done) return;
      this.windows.delete(oldest.value);
    }
  }
}
