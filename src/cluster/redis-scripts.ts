/**
 * The Lua scripts behind RedisLimits. Each runs as one atomic step in Redis
 * (no other command runs in between), which is what makes a check and the
 * update it guards one decision across every node. Time comes from Redis'
 * own `TIME`, so nodes whose clocks disagree still share one window.
 *
 * Every key a script writes gets an expiry in the same script: nothing is
 * ever left behind without one.
 *
 * Key layout under the configured prefix P (docs/SCALING.md):
 *   P node:<nodeId>  "1", PX lease          a node is alive while this exists
 *   P conn:<ipKey>   hash nodeId -> count   live connections per node, PX lease
 *   P rate:<ipKey>   zset of admission times, PX window
 *   P fail:<ipKey>   zset of failed-login times, PX window
 *   P ban:<ipKey>    "1", PX ban length
 *
 * `withScripts` defines them on an ioredis client (EVALSHA, and EVAL again
 * when Redis answers NOSCRIPT after a restart).
 *
 * Scripts read other nodes' lease keys by name (`P node:<id>`), which Redis
 * allows on a single server (and with Sentinel) but not on Redis Cluster.
 */

import type Redis from 'ioredis';

/** Shared prelude: Redis' clock in milliseconds. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: ban, rate, conn. ARGV: rateLimit, windowMs, maxPerIp, nodeId,
 * lease key prefix, leaseMs, unique member for the rate window.
 * Returns 'ok' | 'banned' | 'rate_limited' | 'max_connections_per_ip'.
 *
 * Order as on one node: a banned IP is refused before it is counted; an
 * admission refused by the rate does not count in the window; one admitted by
 * the rate but refused by the per-IP cap does (the local limiter does the same).
 */
export const ADMIT = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return 'banned' end
local rate_limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_per_ip = tonumber(ARGV[3])
local node = ARGV[4]
if rate_limit > 0 then
  -- An admission at t counts while now - t < window.
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= rate_limit then return 'rate_limited' end
  redis.call('ZADD', KEYS[2], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[2], window)
end
local live = 0
local fields = redis.call('HGETALL', KEYS[3])
for i = 1, #fields, 2 do
  local holder = fields[i]
  if holder == node or redis.call('EXISTS', ARGV[5] .. holder) == 1 then
    live = live + tonumber(fields[i + 1])
  else
    -- Its lease ran out: the node died or lost Redis; its connections are gone or recounted on return.
    redis.call('HDEL', KEYS[3], holder)
  end
end
if max_per_ip > 0 and live >= max_per_ip then return 'max_connections_per_ip' end
redis.call('HINCRBY', KEYS[3], node, 1)
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return 'ok'
`;

/** KEYS: conn. ARGV: nodeId. Gives one slot back; never leaves a count at or below zero. */
export const RELEASE = `
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
`;

/**
 * KEYS: ban, fail. ARGV: maxFailures, windowMs, banMs, unique member, entries kept.
 * Returns {failures in the window, 1 if this failure started a ban}.
 * During a ban nothing is counted (the login was refused unchecked); the ban
 * clears the window, so the IP starts afresh when it ends.
 */
export const LOGIN_FAILURE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return {redis.call('ZCARD', KEYS[2]), 0} end
local max_failures = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
redis.call('PEXPIRE', KEYS[2], window)
local failures = redis.call('ZCARD', KEYS[2])
if max_failures > 0 and failures >= max_failures then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return {failures, 1}
end
return {failures, 0}
`;

/**
 * KEYS: lease, then conn keys this node holds slots in. ARGV: leaseMs.
 * Extends the lease and those hashes; returns 0 when the lease had run out
 * (other nodes may then have dropped this node's counts: resync them).
 */
export const REFRESH = `
local existed = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'XX')
if not existed then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
if existed then return 1 end
return 0
`;

/**
 * KEYS: lease, then conn keys. ARGV: leaseMs, nodeId, then one count per conn key.
 * Writes this node's own counts as the node knows them (after an outage or a
 * timed-out command left Redis unsure); a count of 0 removes the field.
 */
export const SYNC = `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
for i = 2, #KEYS do
  local count = tonumber(ARGV[i + 1])
  if count > 0 then
    redis.call('HSET', KEYS[i], ARGV[2], count)
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  else
    redis.call('HDEL', KEYS[i], ARGV[2])
  end
end
return #KEYS - 1
`;

/** KEYS: lease, then conn keys. ARGV: nodeId, '1' to delete the lease too. Drops this node's fields. */
export const FORGET = `
for i = 2, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
return #KEYS - 1
`;

export type AdmitVerdict = 'ok' | 'banned' | 'rate_limited' | 'max_connections_per_ip';

/** An ioredis client with the scripts above as commands. */
export interface ScriptedRedis extends Redis {
  ftpAdmit(ban: string, rate: string, conn: string, ...args: Array<string | number>): Promise<AdmitVerdict>;
  ftpRelease(conn: string, node: string): Promise<number>;
  ftpLoginFailure(ban: string, fail: string, ...args: Array<string | number>): Promise<[number, number]>;
  /** The rest take the number of keys first: a node holds slots in any number of hashes. */
  ftpRefresh(numKeys: number, ...args: Array<string | number>): Promise<number>;
  ftpSync(numKeys: number, ...args: Array<string | number>): Promise<number>;
  ftpForget(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

/** Define the scripts on `redis` as commands. */
export function withScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand('ftpAdmit', { lua: ADMIT, numberOfKeys: 3 });
  redis.defineCommand('ftpRelease', { lua: RELEASE, numberOfKeys: 1 });
  redis.defineCommand('ftpLoginFailure', { lua: LOGIN_FAILURE, numberOfKeys: 2 });
  redis.defineCommand('ftpRefresh', { lua: REFRESH });
  redis.defineCommand('ftpSync', { lua: SYNC });
  redis.defineCommand('ftpForget', { lua: FORGET });
  return redis as ScriptedRedis;
}
