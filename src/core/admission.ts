import type { ServerLimits } from '../config/defaults';
import { addressKey } from '../util/address-key';
import type { Clock } from '../util/clock';
import type { ConnectionResult } from './observer';
import { RateLimiter } from './rate-limiter';
import { SessionRegistry } from './session-registry';
import type { SharedLimits } from './shared-limits';

/** IPs refused at the door (failed-login bans): their greeting is `429`. */
export interface BanList {
  isBanned(ip: string): boolean;
}

/** Why a connection is not served; each listener renders it its own way (a greeting, an FTP 421). */
export interface Refusal {
  admitted: false;
  message: string;
  reason: Exclude<ConnectionResult, 'accepted' | 'draining'>;
}

/** A place taken: it is held until {@link AdmissionControl.release}. */
export interface Admitted {
  admitted: true;
}

const BANNED: Refusal = Object.freeze({
  admitted: false as const,
  message: 'Too many failed logins from your address; try again later',
  reason: 'banned' as const,
});
const SERVER_FULL: Refusal = Object.freeze({
  admitted: false as const,
  message: 'Connection limit reached',
  reason: 'max_connections' as const,
});
const IP_FULL: Refusal = Object.freeze({
  admitted: false as const,
  message: 'Too many connections from your address',
  reason: 'max_connections_per_ip' as const,
});
const RATE_LIMITED: Refusal = Object.freeze({
  admitted: false as const,
  message: 'Too many new connections from your address; try again later',
  reason: 'rate_limited' as const,
});

/**
 * The door of the port. Every new TCP connection passes it first, before a
 * byte is read from it and before any TLS handshake, so bans, the rate limit
 * and the connection caps also hold for connections that never say a word;
 * a place taken here is held until the connection is gone.
 *
 * Every limit counts clients by one key, {@link addressKey} (an IPv4 address
 * or an IPv6 /64), the same one failed-login bans use: keyed apart, the
 * looser key would be the real limit.
 */
export class AdmissionControl<T> {
  private readonly registry: SessionRegistry<T>;
  private readonly rate: RateLimiter;

  constructor(
    private readonly limits: Pick<ServerLimits, 'maxConnections' | 'maxConnectionsPerIp' | 'rateLimit' | 'rateWindowMs'>,
    clock: Clock,
    private readonly bans?: BanList,
    /**
     * Per-address limits shared with the other nodes of a cluster. With it,
     * the rate window, the per-address cap and bans are counted cluster-wide
     * (it falls back to the node's own counts while its store is away); the
     * total cap stays this node's.
     */
    private readonly shared?: SharedLimits,
  ) {
    this.registry = new SessionRegistry({
      maxConnections: limits.maxConnections,
      maxConnectionsPerIp: shared ? Infinity : limits.maxConnectionsPerIp,
    });
    this.rate = new RateLimiter({ limit: limits.rateLimit, windowMs: limits.rateWindowMs, clock });
  }

  /**
   * Take a place for `item`, a connection from `ip`, or say why not: a ban
   * first, then the rate of new connections (every attempt that gets this
   * far counts), then the total and per-address caps. Resolves at once
   * without shared limits; with them, after one round trip to their store.
   */
  admit(ip: string, item: T): Promise<Admitted | Refusal> {
    const key = addressKey(ip);
    if (this.bans?.isBanned(ip)) return Promise.resolve(BANNED);
    if (this.shared) return this.admitShared(key, item, this.shared);
    if (!this.rate.tryAcquire(key)) return Promise.resolve(RATE_LIMITED);
    return Promise.resolve(this.registry.admit(key, item));
  }

  private async admitShared(key: string, item: T, shared: SharedLimits): Promise<Admitted | Refusal> {
    // A full node refuses before the cluster counts the attempt anywhere.
    if (this.registry.size >= this.limits.maxConnections) return SERVER_FULL;
    const verdict = await shared.admit(key, {
      rateLimit: this.limits.rateLimit,
      windowMs: this.limits.rateWindowMs,
      maxPerIp: this.limits.maxConnectionsPerIp,
    });
    if (verdict === 'banned') return BANNED;
    if (verdict === 'rate_limited') return RATE_LIMITED;
    if (verdict === 'max_connections_per_ip') return IP_FULL;
    const local = this.registry.admit(key, item);
    // Filled up while the store answered: give the cluster its place back.
    if (!local.admitted) void shared.release(key).catch(() => undefined);
    return local;
  }

  /** Give back the place `item` holds; `key` is `addressKey(ip)` of its `admit`. Idempotent. */
  release(key: string, item: T): void {
    if (this.registry.release(key, item) && this.shared) {
      // Its failures are the store's to mend (a node's slot ledger, a lease).
      void this.shared.release(key).catch(() => undefined);
    }
  }

  /** Places held now, on this node. */
  get size(): number {
    return this.registry.size;
  }

  /** Places held now by `ip`'s address, on this node. */
  heldBy(ip: string): number {
    return this.registry.countForIp(addressKey(ip));
  }
}
