/**
 * Brute-force defence, per client address (an IPv4 address or an IPv6 /64,
 * see {@link addressKey}): each failed login is answered after a delay that
 * doubles with the address's recent failures (capped), and an address with
 * too many failures within a window is banned for a while — its new
 * connections get a `429` greeting and its logins fail without a check.
 *
 * Only a few logins per address are checked at once ({@link LoginGuard.enter});
 * the rest wait their turn. Without that, guesses sent in parallel on many
 * connections all pass the ban check before the first of them has failed.
 *
 * Pure bookkeeping on an injected clock: no timers, no I/O, so the window
 * and the ban's expiry are tested by moving a fake clock.
 *
 * In a cluster ({@link SharedLimits}, Redis) the failure count and bans are
 * the cluster's: {@link LoginGuard.countFailure} counts each failure there
 * and {@link LoginGuard.checkBanned} asks there too, so ten failures spread
 * over any nodes ban the address on every node. Delays and turns stay this
 * node's: they pace what one process checks.
 */
import type { SharedLimits } from '../core/shared-limits';
import { addressKey } from '../util/address-key';
import type { Clock } from '../util/clock';

export { addressKey } from '../util/address-key';

/** The policy's numbers; every one has a default in {@link DEFAULT_LOGIN_POLICY}. */
export interface LoginPolicy {
  /** Delay after an IP's first failure, in ms; doubled per further failure. 0 turns delays off. */
  failureDelayMs: number;
  /** The longest delay, in ms. */
  maxFailureDelayMs: number;
  /** Failures from one IP within `windowMs` that trigger a ban. 0 turns bans off. */
  maxFailures: number;
  /** The window failures are counted in, in ms. */
  windowMs: number;
  /** How long a ban lasts, in ms. */
  banMs: number;
  /** IPs tracked at most; the least recently failing are forgotten first. */
  maxTrackedIps: number;
  /** Logins from one address checked at once (password hash and failure delay); further ones wait. */
  maxLoginsInFlight: number;
  /** Logins from one address waiting for their turn at most; further ones are refused unchecked. */
  maxLoginsWaiting: number;
}

export const DEFAULT_LOGIN_POLICY: Readonly<LoginPolicy> = Object.freeze({
  failureDelayMs: 500,
  maxFailureDelayMs: 8_000,
  maxFailures: 10,
  windowMs: 15 * 60_000,
  banMs: 15 * 60_000,
  maxTrackedIps: 100_000,
  maxLoginsInFlight: 2,
  maxLoginsWaiting: 64,
});

/** What the guard decided about one failure. */
export interface FailureVerdict {
  /** How long to wait before answering `401`. */
  delayMs: number;
  /** Failures from this IP within the window, this one included. */
  failures: number;
  /** True when this failure started a ban. */
  banned: boolean;
}

interface IpRecord {
  /** Times of the failures still inside the window, oldest first. */
  failures: number[];
  /** Failures since the last successful login: drives the delay. */
  streak: number;
  /** When the ban ends (ms since the epoch), if banned. */
  bannedUntil?: number;
}

/** Logins of one address: being checked, and waiting their turn (oldest first). */
interface Turns {
  active: number;
  waiting: Array<() => void>;
}

/** `fn` that does something the first time only. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** Failed-login bookkeeping for every client IP; see the module comment. */
export class LoginGuard {
  readonly policy: LoginPolicy;
  private readonly ips = new Map<string, IpRecord>();
  private readonly turns = new Map<string, Turns>();

  constructor(
    private readonly clock: Clock,
    policy: Partial<LoginPolicy> = {},
    /** The cluster's failure counts and bans; absent: this node's alone. */
    private readonly shared?: SharedLimits,
  ) {
    this.policy = { ...DEFAULT_LOGIN_POLICY, ...policy };
  }

  /** True while `ip` is banned. */
  isBanned(ip: string): boolean {
    return this.banRemainingMs(ip) > 0;
  }

  /** Milliseconds left of `ip`'s ban, 0 when it is not banned. */
  banRemainingMs(ip: string): number {
    const key = addressKey(ip);
    const record = this.ips.get(key);
    if (record?.bannedUntil === undefined) return 0;
    const left = record.bannedUntil - this.clock.now();
    if (left > 0) return left;
    // Expired: the IP starts over with a clean slate.
    this.ips.delete(key);
    return 0;
  }

  /**
   * True while `ip` is banned: here, or (with shared limits) anywhere in the
   * cluster. A ban learnt from the cluster is kept here until it ends, so
   * this node's door refuses the address without asking again.
   */
  async checkBanned(ip: string): Promise<boolean> {
    if (this.isBanned(ip)) return true;
    if (!this.shared) return false;
    const key = addressKey(ip);
    let left: number;
    try {
      left = await this.shared.banRemainingMs(key);
    } catch {
      // The store's failures are its own to report; this node's view stands.
      return this.isBanned(ip);
    }
    if (left <= 0) return this.isBanned(ip);
    this.mirrorBan(key, left);
    return true;
  }

  /**
   * Record a failed login from `ip`, awaited before the login's turn ends
   * (so the next login in line sees a ban it caused, on any node). With
   * shared limits the cluster counts it and decides the ban; the delay is
   * from this node's run of failures.
   */
  async countFailure(ip: string): Promise<FailureVerdict> {
    if (!this.shared) return this.recordFailure(ip);
    const key = addressKey(ip);
    const record = this.touch(key);
    record.streak += 1;
    const delayMs = this.delayFor(record.streak);
    const { maxFailures, windowMs, banMs } = this.policy;
    let verdict: { failures: number; banned: boolean };
    try {
      verdict = await this.shared.recordLoginFailure(key, { maxFailures, windowMs, banMs });
    } catch {
      // No shared answer: decide here, as a node alone would.
      record.streak -= 1;
      return this.recordFailure(ip);
    }
    if (verdict.banned) this.mirrorBan(key, banMs);
    return { delayMs, failures: verdict.failures, banned: verdict.banned };
  }

  /** Record a failed login from `ip`, counted and decided by this node alone. */
  recordFailure(ip: string): FailureVerdict {
    const now = this.clock.now();
    const record = this.touch(addressKey(ip));
    const horizon = now - this.policy.windowMs;
    while (record.failures.length > 0 && record.failures[0] <= horizon) record.failures.shift();
    record.failures.push(now);
    // Keep the list bounded even with bans off: older entries add nothing.
    const keep = Math.max(this.policy.maxFailures, 32);
    if (record.failures.length > keep) record.failures.splice(0, record.failures.length - keep);
    record.streak += 1;
    const failures = record.failures.length;
    let banned = false;
    if (this.policy.maxFailures > 0 && failures >= this.policy.maxFailures && record.bannedUntil === undefined) {
      record.bannedUntil = now + this.policy.banMs;
      banned = true;
    }
    return { delayMs: this.delayFor(record.streak), failures, banned };
  }

  /**
   * A successful login ends the run of delays for `ip`, but not its failures
   * within the window: an attacker holding one valid account must not be
   * able to reset the count by logging in between guesses.
   */
  recordSuccess(ip: string): void {
    const record = this.ips.get(addressKey(ip));
    if (record) record.streak = 0;
  }

  /**
   * Wait for `ip`'s turn to have a login checked: at most
   * `maxLoginsInFlight` per address at once, the rest in arrival order.
   * Resolves to the function that ends the turn (call it exactly once), or
   * to `undefined` at once when `maxLoginsWaiting` already wait.
   *
   * Every login waiting here holds its connection (one command at a time),
   * so the per-address connection cap (50 by default, under this bound's
   * 64) is what normally limits the queue; the explicit bound covers
   * connections closed while their login waits.
   */
  enter(ip: string): Promise<(() => void) | undefined> {
    const key = addressKey(ip);
    let turns = this.turns.get(key);
    if (!turns) {
      turns = { active: 0, waiting: [] };
      this.turns.set(key, turns);
    }
    const leave = (): void => this.leave(key, turns);
    if (turns.active < this.policy.maxLoginsInFlight) {
      turns.active += 1;
      return Promise.resolve(once(leave));
    }
    if (turns.waiting.length >= this.policy.maxLoginsWaiting) return Promise.resolve(undefined);
    return new Promise((resolve) => turns.waiting.push(() => resolve(once(leave))));
  }

  /** Logins from `ip`'s address being checked now (for tests). */
  loginsInFlight(ip: string): number {
    return this.turns.get(addressKey(ip))?.active ?? 0;
  }

  /** The delay after the `failures`-th failure in a row. */
  delayFor(failures: number): number {
    const { failureDelayMs, maxFailureDelayMs } = this.policy;
    if (failureDelayMs <= 0 || failures <= 0) return 0;
    const exponent = Math.min(failures - 1, 30);
    return Math.min(failureDelayMs * 2 ** exponent, maxFailureDelayMs);
  }

  /** IPs currently tracked (for tests and metrics). */
  get trackedIps(): number {
    return this.ips.size;
  }

  /** The record of `key`, moved to the back of the eviction order (created if new). */
  private touch(key: string): IpRecord {
    let record = this.ips.get(key);
    if (record) {
      // Re-insert so Map order is "least recently failing first" for eviction.
      this.ips.delete(key);
    } else {
      record = { failures: [], streak: 0 };
      this.evictIfFull();
    }
    this.ips.set(key, record);
    return record;
  }

  /** Hold a ban decided elsewhere (the cluster) here too, for `remainingMs`. */
  private mirrorBan(key: string, remainingMs: number): void {
    const record = this.touch(key);
    const until = this.clock.now() + remainingMs;
    if (record.bannedUntil === undefined || record.bannedUntil < until) record.bannedUntil = until;
  }

  private leave(key: string, turns: Turns): void {
    const next = turns.waiting.shift();
    // The slot passes straight to the next in line: nobody can overtake it.
    if (next) return next();
    turns.active -= 1;
    if (turns.active === 0) this.turns.delete(key);
  }

  private evictIfFull(): void {
    while (this.ips.size >= this.policy.maxTrackedIps) {
      const oldest = this.ips.keys().next();
      if (oldest.done) return;
      this.ips.delete(oldest.value);
    }
  }
}
