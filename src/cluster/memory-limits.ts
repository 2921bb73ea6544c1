/**
 * The same per-IP limits as RedisLimits, in this process's memory: what a
 * node decides with while Redis is unreachable. Same rules (a banned IP is
 * refused before it is counted; rate-refused attempts do not count; a ban
 * clears the failure window), on the injected clock, with the number of IPs
 * remembered bounded.
 */
import type { Clock } from '../util/clock';
import type { SharedLimits } from '../core/shared-limits';

/** About the local limiter's bound: past it the least recently seen IP is forgotten (fails open). */
export const DEFAULT_MAX_TRACKED_IPS = 100_000;

interface IpState {
  /** Admission times still inside the rate window, oldest first. */
  admissions: number[];
  /** Failed-login times still inside the failure window, oldest first. */
  failures: number[];
  bannedUntil: number;
  slots: number;
}

/** {@link SharedLimits} for one node, in memory. */
export class MemoryLimits implements SharedLimits {
  readonly healthy = true;
  private readonly ips = new Map<string, IpState>();

  constructor(
    private readonly clock: Clock,
    private readonly maxTrackedIps = DEFAULT_MAX_TRACKED_IPS,
  ) {}

  /**
   * As {@link SharedLimits.admit}; `alsoHeld` counts slots this node holds for
   * the IP elsewhere (in Redis, from before an outage) against `maxPerIp`.
   */
  async admit(
    ipKey: string,
    opts: { rateLimit: number; windowMs: number; maxPerIp: number; alsoHeld?: number },
  ): Promise<'ok' | 'banned' | 'rate_limited' | 'max_connections_per_ip'> {
    const now = this.clock.now();
    const state = this.state(ipKey);
    if (state.bannedUntil > now) return 'banned';
    if (opts.rateLimit > 0) {
      trim(state.admissions, now - opts.windowMs);
      if (state.admissions.length >= opts.rateLimit) return 'rate_limited';
      state.admissions.push(now);
    }
    if (opts.maxPerIp > 0 && state.slots + (opts.alsoHeld ?? 0) >= opts.maxPerIp) return 'max_connections_per_ip';
    state.slots += 1;
    return 'ok';
  }

  async release(ipKey: string): Promise<void> {
    const state = this.ips.get(ipKey);
    if (state && state.slots > 0) state.slots -= 1;
  }

  async recordLoginFailure(
    ipKey: string,
    policy: { maxFailures: number; windowMs: number; banMs: number },
  ): Promise<{ failures: number; banned: boolean }> {
    const now = this.clock.now();
    const state = this.state(ipKey);
    if (state.bannedUntil > now) return { failures: state.failures.length, banned: false };
    trim(state.failures, now - policy.windowMs);
    state.failures.push(now);
    const keep = Math.max(policy.maxFailures, 32);
    if (state.failures.length > keep) state.failures.splice(0, state.failures.length - keep);
    const failures = state.failures.length;
    if (policy.maxFailures > 0 && failures >= policy.maxFailures) {
      state.bannedUntil = now + policy.banMs;
      state.failures = [];
      return { failures, banned: true };
    }
    return { failures, banned: false };
  }

  async banRemainingMs(ipKey: string): Promise<number> {
    const state = this.ips.get(ipKey);
    return state ? Math.max(0, state.bannedUntil - this.clock.now()) : 0;
  }

  /** Remember a ban learnt from elsewhere (Redis) so it holds through an outage. */
  ban(ipKey: string, remainingMs: number): void {
    const until = this.clock.now() + remainingMs;
    const state = this.state(ipKey);
    if (until > state.bannedUntil) state.bannedUntil = until;
  }

  /** Slots taken here and not yet released, for `ipKey`. */
  slots(ipKey: string): number {
    return this.ips.get(ipKey)?.slots ?? 0;
  }

  async close(): Promise<void> {
    this.ips.clear();
  }

  /** The IP's state, moved to the back of the map (most recently seen); evicts from the front. */
  private state(ipKey: string): IpState {
    let state = this.ips.get(ipKey);
    if (state) {
      this.ips.delete(ipKey);
    } else {
      state = { admissions: [], failures: [], bannedUntil: 0, slots: 0 };
      this.evict();
    }
    this.ips.set(ipKey, state);
    return state;
  }

  private evict(): void {
    for (const [ip, state] of this.ips) {
      if (this.ips.size < this.maxTrackedIps) return;
      // An IP with live connections is never forgotten: its slots must come back.
      if (state.slots === 0) this.ips.delete(ip);
    }
  }
}

/** Drop times at or before `horizon` from the front of an oldest-first list. */
function trim(times: number[], horizon: number): void {
  let drop = 0;
  while (drop < times.length && times[drop] <= horizon) drop += 1;
  if (drop > 0) times.splice(0, drop);
}
