/**
 * RedisLimits against a real redis-server on 127.0.0.1: two or three
 * instances play the nodes of one cluster. Each test uses its own key prefix.
 */
import Redis from 'ioredis';
import { RedisLimits, type RedisLimitsOptions } from '../../src/cluster/redis-limits';
import { FakeClock, systemClock } from '../../src/util/clock';
import { RedisServer } from '../helpers/redis-server';

let server: RedisServer;
let raw: Redis;
const open: RedisLimits[] = [];
let prefixCounter = 0;
let prefix = '';

beforeAll(async () => {
  server = await RedisServer.start();
  raw = new Redis(server.url, { lazyConnect: true });
  await raw.connect();
});

afterAll(async () => {
  raw?.disconnect();
  await server?.dispose();
});

beforeEach(() => {
  prefix = `t${(prefixCounter += 1)}:`;
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

/** A node on the test server under this test's prefix; resolves once registered. */
async function node(nodeId: string, options: Partial<RedisLimitsOptions> = {}): Promise<RedisLimits> {
  const limits = new RedisLimits({ url: server.url, keyPrefix: prefix, nodeId, clock: new FakeClock(), ...options });
  open.push(limits);
  await withTimeout(limits.whenReady(), 10_000, `${nodeId} registering`);
  return limits;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
  ]);
}

/** Poll `check` every 50 ms until it is true; fail after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NO_RATE = { rateLimit: 0, windowMs: 60_000 };

describe('RedisLimits on a real redis-server', () => {
  test('the sliding rate window is one window for two nodes; refused attempts do not count', async () => {
    const a = await node('a');
    const b = await node('b');
    const opts = { rateLimit: 4, windowMs: 60_000, maxPerIp: 0 };
    expect([await a.admit('192.0.2.1', opts), await b.admit('192.0.2.1', opts), await a.admit('192.0.2.1', opts), await b.admit('192.0.2.1', opts)])
      .toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await a.admit('192.0.2.1', opts)).toBe('rate_limited');
    expect(await b.admit('192.0.2.1', opts)).toBe('rate_limited');
    expect(await raw.zcard(`${prefix}rate:192.0.2.1`)).toBe(4);
    // Another address has its own window.
    expect(await b.admit('192.0.2.2', opts)).toBe('ok');
  });

  test('the window slides on Redis time: an admission stops counting after windowMs', async () => {
    const a = await node('a');
    const opts = { rateLimit: 2, windowMs: 400, maxPerIp: 0 };
    expect([await a.admit('192.0.2.1', opts), await a.admit('192.0.2.1', opts), await a.admit('192.0.2.1', opts)]).toEqual(['ok', 'ok', 'rate_limited']);
    await sleep(450);
    expect(await a.admit('192.0.2.1', opts)).toBe('ok');
  });

  test('the per-IP cap counts live connections on every node', async () => {
    const a = await node('a');
    const b = await node('b');
    const opts = { ...NO_RATE, maxPerIp: 3 };
    expect([await a.admit('198.51.100.7', opts), await a.admit('198.51.100.7', opts), await b.admit('198.51.100.7', opts)]).toEqual(['ok', 'ok', 'ok']);
    expect(await b.admit('198.51.100.7', opts)).toBe('max_connections_per_ip');
    expect(await a.admit('198.51.100.7', opts)).toBe('max_connections_per_ip');
    expect(await raw.hgetall(`${prefix}conn:198.51.100.7`)).toEqual({ a: '2', b: '1' });
    await a.release('198.51.100.7');
    expect(await b.admit('198.51.100.7', opts)).toBe('ok');
    expect(await raw.hgetall(`${prefix}conn:198.51.100.7`)).toEqual({ a: '1', b: '2' });
    // Releasing everything leaves no hash behind; a release with no slot held changes nothing.
    await a.release('198.51.100.7');
    await b.release('198.51.100.7');
    await b.release('198.51.100.7');
    await b.release('198.51.100.7');
    expect(await raw.exists(`${prefix}conn:198.51.100.7`)).toBe(0);
    expect(a.heldSlots('198.51.100.7') + b.heldSlots('198.51.100.7')).toBe(0);
  });

  test('a ban started by failed logins on one node is seen by the other', async () => {
    const a = await node('a');
    const b = await node('b');
    const policy = { maxFailures: 3, windowMs: 60_000, banMs: 30_000 };
    expect(await a.recordLoginFailure('2001:db8:1:2::/64', policy)).toEqual({ failures: 1, banned: false });
    expect(await b.recordLoginFailure('2001:db8:1:2::/64', policy)).toEqual({ failures: 2, banned: false });
    expect(await b.banRemainingMs('2001:db8:1:2::/64')).toBe(0);
    expect(await a.recordLoginFailure('2001:db8:1:2::/64', policy)).toEqual({ failures: 3, banned: true });
    const left = await b.banRemainingMs('2001:db8:1:2::/64');
    expect(left).toBeGreaterThan(25_000);
    expect(left).toBeLessThanOrEqual(30_000);
    expect(await b.admit('2001:db8:1:2::/64', { ...NO_RATE, maxPerIp: 5 })).toBe('banned');
    // A ban is not counted again while it lasts, and it starts the window afresh.
    expect(await b.recordLoginFailure('2001:db8:1:2::/64', policy)).toEqual({ failures: 0, banned: false });
    expect(await a.admit('2001:db8:1:3::/64', { ...NO_RATE, maxPerIp: 5 })).toBe('ok');
  });

  test('a short ban ends on Redis time and the IP is admitted again', async () => {
    const a = await node('a');
    expect(await a.recordLoginFailure('192.0.2.9', { maxFailures: 1, windowMs: 60_000, banMs: 300 })).toEqual({ failures: 1, banned: true });
    expect(await a.admit('192.0.2.9', { ...NO_RATE, maxPerIp: 1 })).toBe('banned');
    await eventually(async () => (await a.banRemainingMs('192.0.2.9')) === 0, 5_000, 'ban expiry');
    expect(await a.admit('192.0.2.9', { ...NO_RATE, maxPerIp: 1 })).toBe('ok');
  });

  test('two key prefixes are two clusters that share nothing', async () => {
    const a = await node('a');
    const other = new RedisLimits({ url: server.url, keyPrefix: `${prefix}other:`, nodeId: 'a', clock: new FakeClock() });
    open.push(other);
    await other.whenReady();
    await a.recordLoginFailure('192.0.2.5', { maxFailures: 1, windowMs: 60_000, banMs: 60_000 });
    expect(await a.banRemainingMs('192.0.2.5')).toBeGreaterThan(0);
    expect(await other.banRemainingMs('192.0.2.5')).toBe(0);
    expect(await other.admit('192.0.2.5', { ...NO_RATE, maxPerIp: 1 })).toBe('ok');
  });

  test('every key written has an expiry', async () => {
    const a = await node('a');
    const b = await node('b');
    const opts = { rateLimit: 10, windowMs: 60_000, maxPerIp: 5 };
    await a.admit('192.0.2.1', opts);
    await b.admit('192.0.2.1', opts);
    await b.admit('2001:db8::/64', opts);
    await a.release('192.0.2.1');
    await a.recordLoginFailure('192.0.2.3', { maxFailures: 5, windowMs: 60_000, banMs: 60_000 });
    await b.recordLoginFailure('192.0.2.4', { maxFailures: 1, windowMs: 60_000, banMs: 60_000 });
    await a.admit('192.0.2.4', opts);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const kinds = new Set(keys.map((k) => k.slice(prefix.length).split(':')[0]));
    expect([...kinds].sort()).toEqual(['ban', 'conn', 'fail', 'node', 'rate']);
    for (const key of keys) {
      const ttl = await raw.pttl(key);
      expect([key, ttl > 0]).toEqual([key, true]);
    }
  });

  test("a dead node's connections stop counting once its lease runs out", async () => {
    // The fake clock never fires `a`'s lease refresh: to Redis, `a` died after registering.
    const a = await node('a', { leaseMs: 600, refreshMs: 200 });
    const b = await node('b', { leaseMs: 600, refreshMs: 200 });
    const opts = { ...NO_RATE, maxPerIp: 2 };
    expect([await a.admit('203.0.113.5', opts), await a.admit('203.0.113.5', opts)]).toEqual(['ok', 'ok']);
    expect(await b.admit('203.0.113.5', opts)).toBe('max_connections_per_ip');
    await eventually(async () => (await raw.exists(`${prefix}node:a`)) === 0, 5_000, "a's lease expiring");
    expect(await b.admit('203.0.113.5', opts)).toBe('ok');
    expect(await raw.hgetall(`${prefix}conn:203.0.113.5`)).toEqual({ b: '1' });
  });

  test('a live node keeps its connections counted well past the lease time', async () => {
    const a = await node('a', { leaseMs: 1_500, refreshMs: 200, clock: systemClock });
    const b = await node('b', { leaseMs: 1_500, refreshMs: 200, clock: systemClock });
    const opts = { ...NO_RATE, maxPerIp: 1 };
    expect(await a.admit('203.0.113.6', opts)).toBe('ok');
    await sleep(2_500);
    expect(await raw.pttl(`${prefix}node:a`)).toBeGreaterThan(0);
    expect(await b.admit('203.0.113.6', opts)).toBe('max_connections_per_ip');
  });

  test('a node restarted under the same id drops the counts its old process left, at once', async () => {
    const old = await node('n1');
    const b = await node('b');
    const opts = { ...NO_RATE, maxPerIp: 2 };
    expect([await old.admit('203.0.113.7', opts), await old.admit('203.0.113.7', opts)]).toEqual(['ok', 'ok']);
    // The old process dies: its connection drops without any clean-up.
    (old as unknown as { redis: Redis }).redis.disconnect();
    const restarted = await node('n1');
    expect(await b.admit('203.0.113.7', opts)).toBe('ok');
    expect(await raw.hgetall(`${prefix}conn:203.0.113.7`)).toEqual({ b: '1' });
    expect(restarted.heldSlots('203.0.113.7')).toBe(0);
  });

  test('parallel admissions from three nodes never exceed the per-IP cap or the rate', async () => {
    const nodes = [await node('a'), await node('b'), await node('c')];
    const capped = await Promise.all(Array.from({ length: 60 }, (_, i) => nodes[i % 3].admit('192.0.2.50', { ...NO_RATE, maxPerIp: 10 })));
    expect(capped.filter((v) => v === 'ok')).toHaveLength(10);
    expect(capped.filter((v) => v === 'max_connections_per_ip')).toHaveLength(50);
    expect(nodes.reduce((sum, n) => sum + n.heldSlots('192.0.2.50'), 0)).toBe(10);
    const counts = Object.values(await raw.hgetall(`${prefix}conn:192.0.2.50`)).map(Number);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(10);

    const rated = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[i % 3].admit('192.0.2.51', { rateLimit: 7, windowMs: 60_000, maxPerIp: 0 })));
    expect(rated.filter((v) => v === 'ok')).toHaveLength(7);
    expect(await raw.zcard(`${prefix}rate:192.0.2.51`)).toBe(7);
  });

  test('a release that failed while the connection was down is written right on reconnect', async () => {
    const a = await node('a', { retryDelayMs: () => 300 });
    const b = await node('b');
    const opts = { ...NO_RATE, maxPerIp: 2 };
    expect([await a.admit('198.51.100.9', opts), await a.admit('198.51.100.9', opts)]).toEqual(['ok', 'ok']);
    const clients = (await raw.client('LIST')) as string;
    const id = /id=(\d+) .*name=ftp-server:a /.exec(clients)?.[1];
    expect(id).toBeDefined();
    await raw.client('KILL', 'ID', id!);
    await eventually(() => !a.healthy, 5_000, 'a noticing the lost connection');
    await expect(a.release('198.51.100.9')).rejects.toThrow();
    // Redis still counts both of a's slots: the release never reached it.
    expect(await raw.hget(`${prefix}conn:198.51.100.9`, 'a')).toBe('2');
    await eventually(() => a.healthy, 10_000, 'a reconnecting');
    expect(await raw.hget(`${prefix}conn:198.51.100.9`, 'a')).toBe('1');
    expect(await b.admit('198.51.100.9', opts)).toBe('ok');
  });

  test('Redis restarting empty gets every node\'s counts back', async () => {
    const a = await node('a', { retryDelayMs: () => 100 });
    const b = await node('b', { retryDelayMs: () => 100 });
    const opts = { ...NO_RATE, maxPerIp: 3 };
    expect([await a.admit('203.0.113.8', opts), await a.admit('203.0.113.8', opts), await b.admit('203.0.113.8', opts)]).toEqual(['ok', 'ok', 'ok']);
    await server.stop();
    await eventually(() => !a.healthy && !b.healthy, 5_000, 'both nodes noticing');
    await expect(b.admit('203.0.113.8', opts)).rejects.toThrow();
    await server.start();
    await raw.connect().catch(() => undefined);
    await eventually(() => a.healthy && b.healthy, 10_000, 'both nodes reconnecting');
    expect(await raw.hgetall(`${prefix}conn:203.0.113.8`)).toEqual({ a: '2', b: '1' });
    expect(await b.admit('203.0.113.8', opts)).toBe('max_connections_per_ip');
  });

  test('bad numbers are refused before anything is sent', async () => {
    const a = await node('a');
    await expect(a.admit('192.0.2.1', { rateLimit: -1, windowMs: 1, maxPerIp: 1 })).rejects.toThrow(RangeError);
    await expect(a.admit('192.0.2.1', { rateLimit: 1, windowMs: 0, maxPerIp: 1 })).rejects.toThrow(/windowMs/);
    await expect(a.admit('192.0.2.1', { rateLimit: 1, windowMs: 10, maxPerIp: 1.5 })).rejects.toThrow(/maxPerIp/);
    await expect(a.recordLoginFailure('192.0.2.1', { maxFailures: 1, windowMs: 1000, banMs: 0 })).rejects.toThrow(/banMs/);
    expect(() => new RedisLimits({ url: server.url, clock: new FakeClock(), leaseMs: 1000, refreshMs: 600 })).toThrow(/outlive two refreshes/);
    expect(a.healthy).toBe(true);
  });
});
