/**
 * Per-IP limits shared by every node of a cluster, kept in Redis with
 * ioredis: bans, the sliding-window connection rate, failed logins and
 * per-IP connection counts. Each decision is one Lua script (redis-scripts.ts),
 * so two nodes admitting the same IP at once cannot both take the last slot.
 *
 * A node's connection counts live in per-IP hashes under its own field and
 * count only while its lease key exists. The lease is refreshed every
 * `refreshMs` and lives `leaseMs`: a node that dies stops refreshing, and
 * within `leaseMs` the next admission of each IP drops its counts (or the
 * hash expires). A node also keeps its own counts in memory, which are the
 * truth about its connections; whenever Redis may disagree (an outage, a
 * command that timed out without an answer, a lease that ran out while the
 * process was stalled) the node writes them back before deciding anything
 * more. That is also how counts come back after Redis restarts empty.
 *
 * Redis being unreachable never blocks: the offline queue is off and
 * commands time out, so callers get an error at once and decide locally
 * (resilient-limits.ts). ioredis reconnects by itself.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import Redis from 'ioredis';
import type { Clock, Timer } from '../util/clock';
import type { SharedLimits } from '../core/shared-limits';
import { withScripts, type AdmitVerdict, type ScriptedRedis } from './redis-scripts';
import { SlotLedger } from './slot-ledger';
import { DEFAULT_KEY_PREFIX } from './redis-url';

/** Lease refresh interval and lifetime: a dead node's counts are gone within the lifetime. */
export const DEFAULT_REFRESH_MS = 5_000;
export const DEFAULT_LEASE_MS = 15_000;
/** Short enough that a Redis outage costs a new connection at most this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
export { DEFAULT_KEY_PREFIX } from './redis-url';
/** Conn hashes per lease/sync script call: bounds one script's run time. */
const BATCH = 500;

export interface RedisLimitsOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Prepended to every key, so several clusters can share one Redis. */
  keyPrefix?: string;
  /**
   * Unique among the running nodes. A stable id (a host name) lets a
   * restarted node drop its old counts at once instead of after the lease.
   * Default: `<hostname>-<pid>`.
   */
  nodeId?: string;
  refreshMs?: number;
  leaseMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Delay before reconnect attempt `n` (1, 2, ...). Default: 250 ms steps up to 2 s, forever. */
  retryDelayMs?: (attempt: number) => number;
  /** Runs the lease timer. */
  clock: Clock;
  /** Every failure: a command that failed, a connection lost or refused. Must not throw. */
  onDown?(reason: string): void;
  /** Redis answers again and this node's counts are in it. Must not throw. */
  onUp?(): void;
}

/** {@link SharedLimits} in Redis; see the module comment. */
export class RedisLimits implements SharedLimits {
  readonly nodeId: string;
  readonly keyPrefix: string;
  private readonly redis: ScriptedRedis;
  private readonly leaseMs: number;
  private readonly refreshMs: number;
  /** The slots this node holds in Redis: the truth Redis is synced to. */
  private readonly ledger = new SlotLedger();
  private readonly member: () => string;
  private up = false;
  private closed = false;
  /** Whether the first sync ran: it drops fields an earlier process with this id left, and registers the lease. */
  private cleaned = false;
  private syncing: Promise<void> | undefined;
  private readonly timer: Timer;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(private readonly options: RedisLimitsOptions) {
    this.nodeId = options.nodeId ?? `${os.hostname()}-${process.pid}`;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    if (!(this.refreshMs > 0 && this.leaseMs > 2 * this.refreshMs)) {
      throw new RangeError(`the lease (${this.leaseMs} ms) must outlive two refreshes (${this.refreshMs} ms each)`);
    }
    if (/[\s]/.test(this.nodeId) || this.nodeId.length === 0) throw new RangeError(`node id '${this.nodeId}' must be non-empty without spaces`);
    // Members of the rate and failure windows must be unique across nodes and
    // restarts, or two admissions in one millisecond would count as one.
    const incarnation = randomBytes(6).toString('hex');
    let sequence = 0;
    this.member = () => `${this.nodeId}:${incarnation}:${(sequence += 1)}`;
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));

    const retry = options.retryDelayMs ?? ((attempt: number) => Math.min(attempt * 250, 2_000));
    this.redis = withScripts(new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      // Fail at once while disconnected: the caller decides locally instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command whose answer was lost may or may not have run: never run it twice.
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => retry(attempt),
      disableClientInfo: true,
      connectionName: `ftp-server:${this.nodeId}`.replace(/[^\x21-\x7e]/g, '_'),
    }));
    this.redis.on('ready', () => void this.sync());
    // One report per failed connection attempt, and one when a working connection is lost.
    this.redis.on('error', (err: Error) => this.down(describe(err)));
    this.redis.on('close', () => {
      if (this.up) this.down('connection lost');
    });

    this.timer = options.clock.setTimer(this.refreshMs, () => void this.tick());
  }

  /** True while Redis answers and holds this node's counts. */
  get healthy(): boolean {
    return this.up;
  }

  /** Resolves once Redis was first reached and this node registered (never rejects; may never resolve). */
  whenReady(): Promise<void> {
    return this.firstSync;
  }

  /** Slots this node holds in Redis for `ipKey`. */
  heldSlots(ipKey: string): number {
    return this.ledger.slots(ipKey);
  }

  async admit(ipKey: string, opts: { rateLimit: number; windowMs: number; maxPerIp: number }): Promise<AdmitVerdict> {
    checkCount('rateLimit', opts.rateLimit);
    checkCount('maxPerIp', opts.maxPerIp);
    if (opts.rateLimit > 0 && !(Number.isInteger(opts.windowMs) && opts.windowMs > 0)) {
      throw new RangeError(`windowMs must be a positive integer, got ${opts.windowMs}`);
    }
    return this.guarded(ipKey, async () => {
      const verdict = await this.redis.ftpAdmit(
        this.key('ban', ipKey),
        this.key('rate', ipKey),
        this.key('conn', ipKey),
        opts.rateLimit,
        Math.max(1, opts.windowMs),
        opts.maxPerIp,
        this.nodeId,
        this.key('node', ''),
        this.leaseMs,
        this.member(),
      );
      if (verdict === 'ok') this.ledger.take(ipKey);
      return verdict;
    });
  }

  async release(ipKey: string): Promise<void> {
    // Counted as given back now, whatever Redis answers: a failed release is
    // written right by the next sync, never given back twice.
    if (!this.ledger.give(ipKey)) return;
    await this.guarded(ipKey, () => this.redis.ftpRelease(this.key('conn', ipKey), this.nodeId));
  }

  async recordLoginFailure(
    ipKey: string,
    policy: { maxFailures: number; windowMs: number; banMs: number },
  ): Promise<{ failures: number; banned: boolean }> {
    checkCount('maxFailures', policy.maxFailures);
    for (const [name, value] of [['windowMs', policy.windowMs], ['banMs', policy.banMs]] as const) {
      if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    return this.guarded(undefined, async () => {
      const [failures, banned] = await this.redis.ftpLoginFailure(
        this.key('ban', ipKey),
        this.key('fail', ipKey),
        policy.maxFailures,
        policy.windowMs,
        policy.banMs,
        this.member(),
        Math.max(policy.maxFailures, 32),
      );
      return { failures: Number(failures), banned: Number(banned) === 1 };
    });
  }

  async banRemainingMs(ipKey: string): Promise<number> {
    return this.guarded(undefined, async () => Math.max(0, await this.redis.pttl(this.key('ban', ipKey))));
  }

  /** Stop the lease, take this node's counts out of Redis (best effort) and disconnect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer.cancel();
    if (this.redis.status === 'ready') {
      try {
        await this.ledger.exclusive(() => this.forget(this.ledger.ips().map((ip) => this.key('conn', ip)), true));
      } catch {
        // The lease expires on its own.
      }
    }
    this.ledger.clear();
    this.up = false;
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
    } catch {
      // Already gone.
    }
    this.redis.disconnect();
  }

  private key(kind: 'ban' | 'rate' | 'conn' | 'fail' | 'node', id: string): string {
    return `${this.keyPrefix}${kind}:${id}`;
  }

  /**
   * Run one operation through the ledger. A failure marks `ipKey`'s count as
   * unsure (written back by the next sync) and is reported; a success while
   * nothing is unsure means Redis is healthy.
   */
  private async guarded<T>(ipKey: string | undefined, operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('shared limits are closed');
    try {
      const result = await this.ledger.run(operation, ipKey);
      // Healthy only once registered (first sync) and with nothing left to write back.
      if (this.cleaned && !this.ledger.hasUnsure && !this.syncing) this.markUp();
      return result;
    } catch (err) {
      this.down(describe(err));
      throw err;
    }
  }

  /** One sync at a time; callers share the one running. */
  private sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.syncing ??= this.writeCounts().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /**
   * Write this node's counts into Redis, exclusively (slot-ledger.ts): every
   * earlier command has run or failed (a failed one is overwritten here), and
   * every later one runs after this, so what is written is exact.
   */
  private async writeCounts(): Promise<void> {
    try {
      await this.ledger.exclusive(async () => {
        if (!this.cleaned) {
          await this.forgetStale();
          this.cleaned = true;
        }
        const counts = this.ledger.snapshot();
        const lease = this.key('node', this.nodeId);
        if (counts.length === 0) await this.redis.ftpSync(1, lease, this.leaseMs, this.nodeId);
        for (let i = 0; i < counts.length; i += BATCH) {
          const batch = counts.slice(i, i + BATCH);
          await this.redis.ftpSync(
            1 + batch.length,
            lease,
            ...batch.map(([ip]) => this.key('conn', ip)),
            this.leaseMs,
            this.nodeId,
            ...batch.map(([, slots]) => slots),
          );
        }
        this.ledger.settled(counts.map(([ip]) => ip));
      });
      this.markUp();
      this.resolveFirstSync();
    } catch (err) {
      this.down(describe(err));
    }
  }

  /** A process that ran earlier under this node id may have left counts: drop them. */
  private async forgetStale(): Promise<void> {
    const pattern = `${this.keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}conn:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', BATCH);
      cursor = next;
      if (keys.length > 0) await this.forget(keys, false);
    } while (cursor !== '0');
  }

  private async forget(connKeys: string[], dropLease: boolean): Promise<void> {
    const lease = this.key('node', this.nodeId);
    for (let i = 0; i === 0 || i < connKeys.length; i += BATCH) {
      const batch = connKeys.slice(i, i + BATCH);
      await this.redis.ftpForget(1 + batch.length, lease, ...batch, this.nodeId, dropLease ? '1' : '0');
    }
  }

  /** The lease timer: extend the lease, or write the counts back if Redis may have lost them. */
  private async tick(): Promise<void> {
    try {
      if (this.closed || this.redis.status !== 'ready') return;
      if (!this.up || this.ledger.hasUnsure) {
        await this.sync();
        return;
      }
      const keys = [this.key('node', this.nodeId), ...this.ledger.ips().map((ip) => this.key('conn', ip))];
      let leaseHeld = true;
      for (let i = 0; i < keys.length; i += BATCH) {
        const batch = keys.slice(i, i + BATCH);
        if (i > 0) batch.unshift(keys[0]);
        leaseHeld = (await this.redis.ftpRefresh(batch.length, ...batch, this.leaseMs)) === 1 && leaseHeld;
      }
      // The lease had lapsed (a stalled process): other nodes may have dropped our counts.
      if (!leaseHeld) await this.sync();
    } catch (err) {
      this.down(describe(err));
    } finally {
      if (!this.closed) this.timer.refresh();
    }
  }

  private markUp(): void {
    if (this.up || this.closed) return;
    this.up = true;
    this.options.onUp?.();
  }

  private down(reason: string): void {
    if (this.closed) return;
    this.up = false;
    this.options.onDown?.(reason);
  }
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** A failure in words fit for the log: no stack, no credentials (ioredis messages carry none). */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
