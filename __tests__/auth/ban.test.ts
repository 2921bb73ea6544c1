import { addressKey, LoginGuard } from '../../src/auth/login-guard';
import { FakeClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { startAuthServer, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };

describe('the ban, over real sockets with a fake clock', () => {
  let clock: FakeClock;
  let srv: AuthServer;
  beforeEach(async () => {
    clock = new FakeClock();
    srv = await startAuthServer({
      users: [ALICE],
      clock,
      policy: { maxFailures: 3, windowMs: 60_000, banMs: 120_000 },
    });
  });
  afterEach(() => srv.stop());

  const fail = async (conn: RawConnection) =>
    expect(await conn.request('AUTH', { username: 'alice', password: 'guess' })).toMatchObject({ code: 401 });

  it('refuses an IP with too many failures at the greeting (429) until the ban expires', async () => {
    const { conn } = await RawConnection.open(srv.port);
    await fail(conn);
    await fail(conn);
    expect(srv.accounts.isBanned('127.0.0.1')).toBe(false);
    await fail(conn);
    expect(srv.accounts.isBanned('127.0.0.1')).toBe(true);

    // A connection opened before the ban gets no more checks, even with the right password.
    expect(await conn.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({
      code: 401,
      message: expect.stringMatching(/too many failed logins/i),
    });

    const refused = await RawConnection.connect(srv.port);
    expect(await refused.frame()).toMatchObject({ type: 'connection', code: 429 });
    await refused.waitClosed();

    clock.advance(119_000);
    const stillRefused = await RawConnection.connect(srv.port);
    expect(await stillRefused.frame()).toMatchObject({ code: 429 });
    await stillRefused.waitClosed();

    clock.advance(1_000);
    const { conn: again, greeting } = await RawConnection.open(srv.port);
    expect(greeting).toMatchObject({ code: 200 });
    expect(await again.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({ code: 200 });
    again.close();
    conn.close();

    const warnings = srv.log.lines.filter((l) => l.level === 'WARNING').map((l) => l.message);
    expect(warnings).toContainEqual(expect.stringMatching(/^Banned 127\.0\.0\.1 for 120 s after 3 failed logins within 60 s/));
    expect(warnings).toContainEqual(expect.stringMatching(/^Refused connection from 127\.0\.0\.1:\d+: Too many failed logins .*\(429\)$/));
  });

  it('counts only the failures inside the window', async () => {
    const { conn } = await RawConnection.open(srv.port);
    await fail(conn);
    await fail(conn);
    clock.advance(60_001);
    await fail(conn);
    await fail(conn);
    expect(srv.accounts.isBanned('127.0.0.1')).toBe(false);
    const { greeting } = await RawConnection.open(srv.port);
    expect(greeting).toMatchObject({ code: 200 });
    conn.close();
  });
});

describe('LoginGuard', () => {
  it('doubles the delay per failure in a row, up to the cap; a success restarts it but keeps the count', () => {
    const clock = new FakeClock();
    const guard = new LoginGuard(clock, { failureDelayMs: 100, maxFailureDelayMs: 450, maxFailures: 6, windowMs: 1_000, banMs: 5_000 });
    expect([1, 2, 3, 4].map(() => guard.recordFailure('10.0.0.1').delayMs)).toEqual([100, 200, 400, 450]);
    guard.recordSuccess('10.0.0.1');
    const next = guard.recordFailure('10.0.0.1');
    expect(next).toEqual({ delayMs: 100, failures: 5, banned: false });
    expect(guard.recordFailure('10.0.0.1')).toMatchObject({ failures: 6, banned: true });
    expect(guard.isBanned('10.0.0.1')).toBe(true);
    expect(guard.isBanned('10.0.0.2')).toBe(false);
    clock.advance(4_999);
    expect(guard.banRemainingMs('10.0.0.1')).toBe(1);
    clock.advance(1);
    expect(guard.isBanned('10.0.0.1')).toBe(false);
    expect(guard.recordFailure('10.0.0.1')).toMatchObject({ failures: 1, delayMs: 100 });
  });

  it('bans a whole IPv6 /64, and IPv4-mapped addresses as IPv4', () => {
    const guard = new LoginGuard(new FakeClock(), { maxFailures: 2 });
    guard.recordFailure('2001:db8:1:2::a');
    expect(guard.recordFailure('2001:db8:1:2:ffff::b').banned).toBe(true);
    expect(guard.isBanned('2001:db8:1:2:0:0:0:c')).toBe(true);
    expect(guard.isBanned('2001:db8:1:3::a')).toBe(false);
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('tracks a bounded number of addresses', () => {
    const guard = new LoginGuard(new FakeClock(), { maxTrackedIps: 100 });
    for (let i = 0; i < 1_000; i += 1) guard.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(guard.trackedIps).toBe(100);
  });
});
