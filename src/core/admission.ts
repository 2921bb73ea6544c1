import type { ServerLimits } from '../config/defaults';
import { addressKey } from '../util/address-key';
import type { Clock } from '../util/clock';
import type { ConnectionResult } from './observer';
import { RateLimiter } from './rate-limiter';
import { SessionRegistry } from './session-registry';

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
    limits: Pick<ServerLimits, 'maxConnections' | 'maxConnectionsPerIp' | 'rateLimit' | 'rateWindowMs'>,
    clock: Clock,
    private readonly bans?: BanList,
  ) {
    this.registry = new SessionRegistry({ maxConnections: limits.maxConnections, maxConnectionsPerIp: limits.maxConnectionsPerIp });
    this.rate = new RateLimiter({ limit: limits.rateLimit, windowMs: limits.rateWindowMs, clock });
  }

  /**
   * Take a place for `item`, a connection from `ip`, or say why not: a ban
   * first, then the rate of new connections (every attempt that gets this
   * far counts), then the total and per-address caps.
   */
  admit(ip: string, item: T): Admitted | Refusal {
    const key = addressKey(ip);
    if (this.bans?.isBanned(ip)) return BANNED;
    if (!this.rate.tryAcquire(key)) return RATE_LIMITED;
    return this.registry.admit(key, item);
  }

  /** Give back the place `item` holds; `key` is `addressKey(ip)` of its `admit`. Idempotent. */
  release(key: string, item: T): void {
    this.registry.release(key, item);
  }

  /** Places held now. */
  get size(): number {
    return this.registry.size;
  }

  /** Places held now by `ip`'s address. */
  heldBy(ip: string): number {
    return this.registry.countForIp(addressKey(ip));
  }

  /** The connections holding a place, in admission order (live, see {@link SessionRegistry.values}). */
  values(): IterableIterator<T> {
    return this.registry.values();
  }
}
