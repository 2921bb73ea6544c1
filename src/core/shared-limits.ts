/**
 * Per-address state shared by every node of a cluster (connection counts,
 * the rate window, failed logins and bans), so a client banned or over its
 * per-IP cap on one node is refused by every node. The core's admission and
 * login guard consult it when it is given; `src/cluster` implements it in
 * Redis. Each method is one atomic step in the backing store.
 */
export interface SharedLimits {
  /**
   * Admission for a new connection from `ipKey`, atomically: refuse if banned; count it in the
   * IP's sliding window (refuse past rateLimit in windowMs; 0 = off); take a per-IP slot
   * (refuse at maxPerIp, counting live connections on every node).
   */
  admit(ipKey: string, opts: { rateLimit: number; windowMs: number; maxPerIp: number }):
    Promise<'ok' | 'banned' | 'rate_limited' | 'max_connections_per_ip'>;
  /** Give back one per-IP slot taken by admit('ok'). */
  release(ipKey: string): Promise<void>;
  /** Count a failed login; ban when `maxFailures` within `windowMs` (for `banMs`). */
  recordLoginFailure(ipKey: string, policy: { maxFailures: number; windowMs: number; banMs: number }):
    Promise<{ failures: number; banned: boolean }>;
  /** Milliseconds left of a ban, 0 when none. */
  banRemainingMs(ipKey: string): Promise<number>;
  /** False while the backend is unreachable (callers then use their local limits). */
  readonly healthy: boolean;
  close(): Promise<void>;
}
