/**
 * AdmissionControl with shared limits, socket-free: a fake SharedLimits
 * records every call and answers what each test scripts, so each verdict of
 * the cluster's store, the node's own total cap and the release path are
 * checked without Redis or a port.
 */
import { AdmissionControl, type BanList } from '../../src/core/admission';
import type { SharedLimits } from '../../src/core/shared-limits';
import { addressKey } from '../../src/util/address-key';
import { FakeClock } from '../../src/util/clock';

type Verdict = Awaited<ReturnType<SharedLimits['admit']>>;

class FakeShared implements SharedLimits {
  readonly admits: Array<{ ipKey: string; opts: { rateLimit: number; windowMs: number; maxPerIp: number } }> = [];
  readonly releases: string[] = [];
  verdict: Verdict = 'ok';
  healthy = true;
  async admit(ipKey: string, opts: { rateLimit: number; windowMs: number; maxPerIp: number }): Promise<Verdict> {
    this.admits.push({ ipKey, opts });
    return this.verdict;
  }
  async release(ipKey: string): Promise<void> {
    this.releases.push(ipKey);
  }
  async recordLoginFailure(): Promise<{ failures: number; banned: boolean }> {
    throw new Error('admission never records login failures');
  }
  async banRemainingMs(): Promise<number> {
    throw new Error('admission asks bans through admit()');
  }
  async close(): Promise<void> {}
}

const LIMITS = { maxConnections: 3, maxConnectionsPerIp: 1, rateLimit: 7, rateWindowMs: 60_000 };

function setup(bans?: BanList) {
  const shared = new FakeShared();
  const admission = new AdmissionControl<object>(LIMITS, new FakeClock(), bans, shared);
  return { shared, admission };
}

test.each([
  ['banned', 'banned', 'Too many failed logins from your address; try again later'],
  ['rate_limited', 'rate_limited', 'Too many new connections from your address; try again later'],
  ['max_connections_per_ip', 'max_connections_per_ip', 'Too many connections from your address'],
] as const)("the store's verdict %s is refused as %s, and takes no place here", async (verdict, reason, message) => {
  const { shared, admission } = setup();
  shared.verdict = verdict;
  expect(await admission.admit('198.51.100.7', {})).toEqual({ admitted: false, reason, message });
  expect(admission.size).toBe(0);
  // The store refused: it holds no slot, so none is given back.
  expect(shared.releases).toEqual([]);
});

test('the store is asked with the per-address key and the limits; its ok takes a place here', async () => {
  const { shared, admission } = setup();
  expect(await admission.admit('2001:db8:1:2:aaaa::1', {})).toEqual({ admitted: true });
  expect(shared.admits).toEqual([{ ipKey: addressKey('2001:db8:1:2:aaaa::1'), opts: { rateLimit: 7, windowMs: 60_000, maxPerIp: 1 } }]);
  expect(shared.admits[0].ipKey).toBe(addressKey('2001:db8:1:2:ffff::9'));
  expect(admission.size).toBe(1);
});

test('the per-address cap is the store\'s alone: a second connection from one address passes when the store says ok', async () => {
  const { admission } = setup();
  expect(await admission.admit('198.51.100.7', {})).toEqual({ admitted: true });
  expect(await admission.admit('198.51.100.7', {})).toEqual({ admitted: true });
  expect(admission.heldBy('198.51.100.7')).toBe(2);
});

test('the total cap stays per node: a full node refuses before the cluster counts the attempt', async () => {
  const { shared, admission } = setup();
  for (let i = 1; i <= 3; i += 1) expect(await admission.admit(`198.51.100.${i}`, {})).toEqual({ admitted: true });
  expect(await admission.admit('198.51.100.4', {})).toEqual({ admitted: false, reason: 'max_connections', message: 'Connection limit reached' });
  expect(shared.admits).toHaveLength(3);
  expect(shared.releases).toEqual([]);
});

test('a node that filled up while the store answered gives the store its slot back, once', async () => {
  const { shared, admission } = setup();
  // Four admissions in flight at once: all pass the total-cap check before any store answer.
  const answers = await Promise.all([1, 2, 3, 4].map((i) => admission.admit(`198.51.100.${i}`, {})));
  expect(answers.filter((a) => a.admitted)).toHaveLength(3);
  expect(answers[3]).toEqual({ admitted: false, reason: 'max_connections', message: 'Connection limit reached' });
  expect(shared.admits).toHaveLength(4);
  await Promise.resolve();
  expect(shared.releases).toEqual([addressKey('198.51.100.4')]);
});

test('release gives the store its slot back exactly once, however often it is called', async () => {
  const { shared, admission } = setup();
  const item = {};
  await admission.admit('198.51.100.7', item);
  admission.release(addressKey('198.51.100.7'), item);
  admission.release(addressKey('198.51.100.7'), item);
  // An item that never held a place gives nothing back.
  admission.release(addressKey('198.51.100.7'), {});
  await Promise.resolve();
  expect(shared.releases).toEqual([addressKey('198.51.100.7')]);
  expect(admission.size).toBe(0);
});

test("this node's own ban list refuses first, without asking the store", async () => {
  const { shared, admission } = setup({ isBanned: (ip) => ip === '203.0.113.9' });
  expect(await admission.admit('203.0.113.9', {})).toMatchObject({ admitted: false, reason: 'banned' });
  expect(shared.admits).toEqual([]);
});

test('a store that fails its release does not break the release', async () => {
  const { shared, admission } = setup();
  shared.release = () => Promise.reject(new Error('Redis gone'));
  const item = {};
  await admission.admit('198.51.100.7', item);
  expect(() => admission.release(addressKey('198.51.100.7'), item)).not.toThrow();
  await new Promise((resolve) => setImmediate(resolve));
  expect(admission.size).toBe(0);
});
