import { MemoryLimits } from '../../src/cluster/memory-limits';
import { ResilientLimits, redactUrl, type RemoteHooks, type RemoteLimits } from '../../src/cluster/resilient-limits';
import { MemoryLog } from '../../src/logging/log';
import { FakeClock } from '../../src/util/clock';
import { RedisServer } from '../helpers/redis-server';

/**
 * A remote store that is MemoryLimits underneath and can be switched off:
 * then every call fails as ioredis fails with the offline queue disabled.
 */
class SwitchableRemote implements RemoteLimits {
  readonly store: MemoryLimits;
  /** Whether calls succeed; `healthy` only learns of a change from a failure, like RedisLimits. */
  reachable = true;
  private isHealthy = false;
  calls: string[] = [];
  constructor(
    clock: FakeClock,
    private readonly hooks: RemoteHooks,
  ) {
    this.store = new MemoryLimits(clock);
  }
  get healthy(): boolean {
    return this.isHealthy;
  }
  /** A reconnect attempt failing. */
  fail(): void {
    this.reachable = false;
    this.isHealthy = false;
    this.hooks.onDown('connect ECONNREFUSED 127.0.0.1:6379');
  }
  recover(): void {
    this.reachable = true;
    this.isHealthy = true;
    this.hooks.onUp();
  }
  heldSlots(ipKey: string): number {
    return this.store.slots(ipKey);
  }
  private async call<T>(name: string, run: () => Promise<T>): Promise<T> {
    this.calls.push(name);
    if (!this.reachable) {
      this.isHealthy = false;
      this.hooks.onDown("Stream isn't writeable and enableOfflineQueue options is false");
      throw new Error('offline');
    }
    return run();
  }
  admit(ipKey: string, opts: { rateLimit: number; windowMs: number; maxPerIp: number }) {
    return this.call('admit', () => this.store.admit(ipKey, opts));
  }
  release(ipKey: string) {
    return this.call('release', () => this.store.release(ipKey));
  }
  recordLoginFailure(ipKey: string, policy: { maxFailures: number; windowMs: number; banMs: number }) {
    return this.call('recordLoginFailure', () => this.store.recordLoginFailure(ipKey, policy));
  }
  banRemainingMs(ipKey: string) {
    return this.call('banRemainingMs', () => this.store.banRemainingMs(ipKey));
  }
  async close() {}
}

function setup() {
  const clock = new FakeClock();
  const log = new MemoryLog();
  let remote!: SwitchableRemote;
  const limits = new ResilientLimits({ clock, log, describe: 'redis://10.0.0.5:6379', errorIntervalMs: 30_000 }, (hooks) => {
    remote = new SwitchableRemote(clock, hooks);
    return remote;
  });
  remote.recover();
  return { clock, log, limits, remote };
}

const CAP = { rateLimit: 0, windowMs: 60_000, maxPerIp: 3 };

describe('ResilientLimits with a remote store that can fail (no sockets)', () => {
  test('while the store answers, every decision is the store\'s', async () => {
    const { limits, remote, log } = setup();
    expect(log.lines).toEqual([{ level: 'INFO', label: 'main', message: 'Shared limits in Redis at redis://10.0.0.5:6379' }]);
    expect(await limits.admit('192.0.2.1', CAP)).toBe('ok');
    await limits.release('192.0.2.1');
    expect(await limits.recordLoginFailure('192.0.2.1', { maxFailures: 5, windowMs: 1000, banMs: 1000 })).toEqual({ failures: 1, banned: false });
    expect(await limits.banRemainingMs('192.0.2.1')).toBe(0);
    expect(remote.calls).toEqual(['admit', 'release', 'recordLoginFailure', 'banRemainingMs']);
    expect(limits.healthy).toBe(true);
    expect(limits.failures).toBe(0);
  });

  test('a failing store: local decisions, healthy false, failures counted, one ERROR per interval', async () => {
    const { limits, remote, log, clock } = setup();
    // The call that finds Redis gone is answered locally all the same.
    remote.reachable = false;
    expect(await limits.admit('192.0.2.1', CAP)).toBe('ok');
    expect(limits.healthy).toBe(false);
    for (let i = 0; i < 5; i += 1) await limits.admit('192.0.2.2', CAP);
    remote.fail(); // a reconnect attempt failing
    expect(limits.failures).toBe(2);
    // Local per-IP cap: 192.0.2.2 got 3 of its 5.
    expect(await limits.admit('192.0.2.2', CAP)).toBe('max_connections_per_ip');
    const errors = () => log.lines.filter((l) => l.level === 'ERROR');
    expect(errors()).toEqual([
      {
        level: 'ERROR',
        label: 'main',
        message: "Redis at redis://10.0.0.5:6379 unreachable (Stream isn't writeable and enableOfflineQueue options is false); limits, bans and per-IP counts are this node's own until it returns",
      },
    ]);
    clock.advance(30_000);
    remote.fail();
    expect(errors()).toHaveLength(2);
    expect(errors()[1].message).toMatch(/unreachable \(connect ECONNREFUSED 127\.0\.0\.1:6379\);.*\(1 similar line suppressed\)$/);
    expect(limits.failures).toBe(3);
  });

  test('the store coming back is logged once, with how long it was gone; the next outage logs at once', async () => {
    const { limits, remote, log, clock } = setup();
    remote.fail();
    clock.advance(95_000);
    remote.recover();
    expect(limits.healthy).toBe(true);
    expect(log.lines.at(-1)).toEqual({ level: 'INFO', label: 'main', message: 'Redis at redis://10.0.0.5:6379 reachable again after 95 s; limits are shared again' });
    clock.advance(1_000);
    remote.fail();
    expect(log.lines.filter((l) => l.level === 'ERROR')).toHaveLength(2);
  });

  test('a slot taken locally is given back locally, even after the store returns', async () => {
    const { limits, remote } = setup();
    expect(await limits.admit('192.0.2.1', CAP)).toBe('ok'); // in the store
    remote.fail();
    expect(await limits.admit('192.0.2.1', CAP)).toBe('ok'); // local
    remote.recover();
    remote.calls = [];
    await limits.release('192.0.2.1');
    expect(remote.calls).toEqual([]);
    expect(remote.heldSlots('192.0.2.1')).toBe(1);
    await limits.release('192.0.2.1');
    expect(remote.calls).toEqual(['release']);
    expect(remote.heldSlots('192.0.2.1')).toBe(0);
  });

  test("the local per-IP cap counts the slots this node still holds in the store", async () => {
    const { limits, remote } = setup();
    expect([await limits.admit('192.0.2.1', CAP), await limits.admit('192.0.2.1', CAP)]).toEqual(['ok', 'ok']);
    remote.fail();
    expect(await limits.admit('192.0.2.1', CAP)).toBe('ok');
    expect(await limits.admit('192.0.2.1', CAP)).toBe('max_connections_per_ip');
  });

  test('a ban learnt from the store holds through an outage; failures during one are counted locally', async () => {
    const { limits, remote, clock } = setup();
    const policy = { maxFailures: 2, windowMs: 60_000, banMs: 120_000 };
    await limits.recordLoginFailure('192.0.2.7', policy);
    expect(await limits.recordLoginFailure('192.0.2.7', policy)).toEqual({ failures: 2, banned: true });
    // Another node's ban, seen through banRemainingMs.
    await remote.store.recordLoginFailure('192.0.2.8', { ...policy, maxFailures: 1 });
    expect(await limits.banRemainingMs('192.0.2.8')).toBe(120_000);
    remote.fail();
    clock.advance(60_000);
    expect(await limits.admit('192.0.2.7', CAP)).toBe('banned');
    expect(await limits.admit('192.0.2.8', CAP)).toBe('banned');
    expect(await limits.banRemainingMs('192.0.2.7')).toBe(60_000);
    expect(await limits.recordLoginFailure('192.0.2.9', policy)).toEqual({ failures: 1, banned: false });
    expect(await limits.recordLoginFailure('192.0.2.9', policy)).toEqual({ failures: 2, banned: true });
    expect(await limits.admit('192.0.2.9', CAP)).toBe('banned');
  });

  test('the Redis URL is logged without its credentials', () => {
    expect(redactUrl('redis://default:s3cret@10.0.0.5:6379/2')).toBe('redis://10.0.0.5:6379/2');
    expect(redactUrl('rediss://:token@cache.example:6380')).toBe('rediss://cache.example:6380');
    expect(redactUrl('not a url')).toBe('(invalid Redis URL)');
  });
});

describe('MemoryLimits, the local fallback', () => {
  test('rate window on the clock: refused attempts do not count, an admission counts for windowMs exactly', async () => {
    const clock = new FakeClock();
    const limits = new MemoryLimits(clock);
    const opts = { rateLimit: 2, windowMs: 1_000, maxPerIp: 0 };
    expect(await limits.admit('a', opts)).toBe('ok');
    clock.advance(500);
    expect(await limits.admit('a', opts)).toBe('ok');
    expect(await limits.admit('a', opts)).toBe('rate_limited');
    clock.advance(499);
    expect(await limits.admit('a', opts)).toBe('rate_limited');
    clock.advance(1);
    expect(await limits.admit('a', opts)).toBe('ok');
  });

  test('a ban refuses before counting and clears the failure window; it ends on time', async () => {
    const clock = new FakeClock();
    const limits = new MemoryLimits(clock);
    const policy = { maxFailures: 2, windowMs: 10_000, banMs: 5_000 };
    await limits.recordLoginFailure('a', policy);
    expect(await limits.recordLoginFailure('a', policy)).toEqual({ failures: 2, banned: true });
    expect(await limits.admit('a', { rateLimit: 1, windowMs: 1_000, maxPerIp: 1 })).toBe('banned');
    clock.advance(5_000);
    expect(await limits.banRemainingMs('a')).toBe(0);
    expect(await limits.admit('a', { rateLimit: 1, windowMs: 1_000, maxPerIp: 1 })).toBe('ok');
    expect(await limits.recordLoginFailure('a', policy)).toEqual({ failures: 1, banned: false });
  });

  test('past its bound it forgets the least recently seen IPs, never one holding slots', async () => {
    const limits = new MemoryLimits(new FakeClock(), 3);
    await limits.admit('holder', { rateLimit: 0, windowMs: 1, maxPerIp: 1 });
    for (const ip of ['b', 'c', 'd', 'e']) await limits.recordLoginFailure(ip, { maxFailures: 0, windowMs: 1_000, banMs: 1 });
    expect(limits.slots('holder')).toBe(1);
    expect(await limits.admit('holder', { rateLimit: 0, windowMs: 1, maxPerIp: 1 })).toBe('max_connections_per_ip');
  });
});

describe('ResilientLimits on a real redis-server that stops and comes back', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  test('stop: decisions go on locally, one ERROR per interval; start: healthy again, one INFO', async () => {
    const clock = new FakeClock();
    const log = new MemoryLog();
    const limits = ResilientLimits.connect(
      { url: server.url, keyPrefix: 'resilient:', nodeId: 'a', retryDelayMs: () => 100 },
      { clock, log, errorIntervalMs: 60_000 },
    );
    try {
      await eventually(() => limits.healthy, 10_000, 'first connection');
      expect(log.lines).toEqual([{ level: 'INFO', label: 'main', message: `Shared limits in Redis at ${server.url}` }]);
      const opts = { rateLimit: 0, windowMs: 60_000, maxPerIp: 3 };
      expect([await limits.admit('203.0.113.1', opts), await limits.admit('203.0.113.1', opts)]).toEqual(['ok', 'ok']);

      await server.stop();
      await eventually(() => !limits.healthy, 5_000, 'noticing Redis is gone');
      // Decided locally: one more slot (two are held in Redis), then refused; other IPs as usual.
      expect(await limits.admit('203.0.113.1', opts)).toBe('ok');
      expect(await limits.admit('203.0.113.1', opts)).toBe('max_connections_per_ip');
      expect(await limits.admit('203.0.113.2', opts)).toBe('ok');
      // ioredis keeps retrying every 100 ms; each failure counts, the log line does not repeat.
      await eventually(() => limits.failures >= 4, 5_000, 'reconnect attempts failing');
      const errors = () => log.lines.filter((l) => l.level === 'ERROR');
      expect(errors()).toHaveLength(1);
      expect(errors()[0].message).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${server.port} unreachable \\(`));
      clock.advance(60_000);
      await eventually(() => errors().length === 2, 5_000, 'the next interval\'s ERROR line');
      expect(errors()[1].message).toMatch(/similar lines? suppressed\)$/);

      await limits.release('203.0.113.1'); // the local slot, given back locally
      await server.start();
      await eventually(() => limits.healthy, 10_000, 'reconnecting');
      expect(log.lines.filter((l) => l.level === 'INFO').map((l) => l.message)).toEqual([
        `Shared limits in Redis at ${server.url}`,
        `Redis at ${server.url} reachable again after 60 s; limits are shared again`,
      ]);
      // Redis came back empty; the node wrote its two slots back, so the cap holds at 3.
      expect(await limits.admit('203.0.113.1', opts)).toBe('ok');
      expect(await limits.admit('203.0.113.1', opts)).toBe('max_connections_per_ip');
    } finally {
      await limits.close();
    }
  });
});
