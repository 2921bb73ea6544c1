/**
 * Shared limits that never stop the server: decisions come from Redis while
 * it answers, and from this node's own memory while it does not. Callers get
 * an answer every time and never see a Redis error.
 *
 * While Redis is down: one ERROR line per interval (not one per connection),
 * `healthy` false (for /healthz to say "degraded"), `failures` counting every
 * failed Redis call and connection attempt (for /metrics). When it answers
 * again: one INFO line, and decisions are shared again.
 *
 * A slot taken locally is given back locally: Redis never counted it, so
 * releasing it there would free a slot some other connection holds. Bans this
 * node learnt from Redis are kept locally too, so they hold through an outage.
 */
import type { Log } from '../logging/log';
import { LogThrottle, suppressedNote } from '../logging/throttle';
import type { Clock, Timer } from '../util/clock';
import type { SharedLimits } from '../core/shared-limits';
import { MemoryLimits } from './memory-limits';
import { RedisLimits, type RedisLimitsOptions } from './redis-limits';
import { redactUrl } from './redis-url';

export { redactUrl } from './redis-url';

/** At most one ERROR line per this long while Redis stays unreachable. */
export const DEFAULT_ERROR_INTERVAL_MS = 60_000;

/** What ResilientLimits needs from the shared store (RedisLimits, or a fake in tests). */
export interface RemoteLimits extends SharedLimits {
  /** Slots this node holds in the store for `ipKey`. */
  heldSlots(ipKey: string): number;
  /** Resolves once the store was first reached (may never resolve). */
  whenReady?(): Promise<void>;
}

export interface ResilientLimitsOptions {
  clock: Clock;
  log: Log;
  /** Where Redis is, for log lines: never a URL with a password. */
  describe: string;
  errorIntervalMs?: number;
  /** The local fallback (default: a new MemoryLimits on `clock`). */
  local?: MemoryLimits;
}

type Verdict = Awaited<ReturnType<SharedLimits['admit']>>;

/** How the remote store reports its state: every failure, and each return to health. */
export interface RemoteHooks {
  onDown(reason: string): void;
  onUp(): void;
}

/** {@link SharedLimits} backed by Redis with this node's own limits as the fallback. */
export class ResilientLimits implements SharedLimits {
  private readonly remote: RemoteLimits;
  private readonly local: MemoryLimits;
  private readonly throttle: LogThrottle;
  private failureCount = 0;
  /** When the current outage began; undefined while Redis answers. */
  private downSince: number | undefined;
  private outages = 0;
  private everUp = false;

  /**
   * Connect to Redis at `redis.url` and wrap it. Never throws for an
   * unreachable Redis: the node starts degraded and connects when it can.
   */
  static connect(redis: Omit<RedisLimitsOptions, 'onDown' | 'onUp' | 'clock'>, options: Omit<ResilientLimitsOptions, 'describe'>): ResilientLimits {
    return new ResilientLimits({ ...options, describe: redactUrl(redis.url) }, (hooks) => new RedisLimits({ ...redis, clock: options.clock, ...hooks }));
  }

  /** `connectRemote` builds the remote store, wiring its reports to these hooks. */
  constructor(
    private readonly options: ResilientLimitsOptions,
    connectRemote: (hooks: RemoteHooks) => RemoteLimits,
  ) {
    this.local = options.local ?? new MemoryLimits(options.clock);
    this.throttle = new LogThrottle(options.clock, options.errorIntervalMs ?? DEFAULT_ERROR_INTERVAL_MS);
    this.remote = connectRemote({ onDown: (reason) => this.reportDown(reason), onUp: () => this.reportUp() });
  }

  /** False while decisions are local (for /healthz: degraded). */
  get healthy(): boolean {
    return this.remote.healthy;
  }

  /** Failed Redis calls and connection attempts since start (for /metrics). */
  get failures(): number {
    return this.failureCount;
  }

  /**
   * Wait up to `timeoutMs` for the store to be reached the first time:
   * true once it was, false on timeout (it goes on trying in the background;
   * decisions are local until then).
   */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.remote.healthy) return true;
    if (!this.remote.whenReady) return false;
    let timer: Timer | undefined;
    const late = new Promise<false>((resolve) => {
      timer = this.options.clock.setTimer(timeoutMs, () => resolve(false));
    });
    try {
      return await Promise.race([this.remote.whenReady().then(() => true as const), late]);
    } finally {
      timer?.cancel();
    }
  }

  /** The remote store (its node id and prefix, for logs and tests). */
  get shared(): RemoteLimits {
    return this.remote;
  }

  async admit(ipKey: string, opts: { rateLimit: number; windowMs: number; maxPerIp: number }): Promise<Verdict> {
    if (this.remote.healthy) {
      try {
        return await this.remote.admit(ipKey, opts);
      } catch {
        // Reported through reportDown; decide locally below.
      }
    }
    return this.local.admit(ipKey, { ...opts, alsoHeld: this.remote.heldSlots(ipKey) });
  }

  async release(ipKey: string): Promise<void> {
    if (this.local.slots(ipKey) > 0) {
      await this.local.release(ipKey);
      return;
    }
    // A failed release is written right by RedisLimits when Redis returns.
    await this.remote.release(ipKey).catch(() => undefined);
  }

  async recordLoginFailure(
    ipKey: string,
    policy: { maxFailures: number; windowMs: number; banMs: number },
  ): Promise<{ failures: number; banned: boolean }> {
    if (this.remote.healthy) {
      try {
        const verdict = await this.remote.recordLoginFailure(ipKey, policy);
        if (verdict.banned) this.local.ban(ipKey, policy.banMs);
        return verdict;
      } catch {
        // Decide locally.
      }
    }
    return this.local.recordLoginFailure(ipKey, policy);
  }

  async banRemainingMs(ipKey: string): Promise<number> {
    if (this.remote.healthy) {
      try {
        const left = await this.remote.banRemainingMs(ipKey);
        if (left > 0) this.local.ban(ipKey, left);
        return left;
      } catch {
        // Decide locally.
      }
    }
    return this.local.banRemainingMs(ipKey);
  }

  async close(): Promise<void> {
    await this.remote.close();
    await this.local.close();
  }

  /** The remote store failed (a call, a connection attempt): count it, log it once per interval. */
  private reportDown(reason: string): void {
    this.failureCount += 1;
    if (this.downSince === undefined) {
      this.downSince = this.options.clock.now();
      this.outages += 1;
    }
    // A key per outage: a new outage is logged at once, whatever the last one did.
    const suppressed = this.throttle.admit(`redis down ${this.outages}`);
    if (suppressed === undefined) return;
    this.options.log.error(
      `Redis at ${this.options.describe} unreachable (${reason}); limits, bans and per-IP counts are this node's own until it returns${suppressedNote(suppressed)}`,
    );
  }

  /** The remote store answers again and holds this node's counts. */
  private reportUp(): void {
    const since = this.downSince;
    this.downSince = undefined;
    if (since === undefined) {
      if (!this.everUp) this.options.log.info(`Shared limits in Redis at ${this.options.describe}`);
    } else {
      const seconds = Math.round((this.options.clock.now() - since) / 1000);
      this.options.log.info(`Redis at ${this.options.describe} reachable again after ${seconds} s; limits are shared again`);
    }
    this.everUp = true;
  }
}
