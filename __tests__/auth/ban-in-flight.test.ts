import crypto from 'node:crypto';
import { LoginGuard } from '../../src/auth/login-guard';
import { FakeClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { logText, startAuthServer, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };

/**
 * Watches the real scrypt derivations (how many, how many at once) and can
 * hold back the answer for one password until told. The derivation itself
 * is the real one.
 */
function watchScrypt(holdFor?: string) {
  const real = crypto.scrypt;
  const state = { calls: 0, running: 0, peak: 0, heldStarted: false };
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const spy = jest.spyOn(crypto, 'scrypt').mockImplementation(((
    password: crypto.BinaryLike,
    salt: crypto.BinaryLike,
    keylen: number,
    options: crypto.ScryptOptions,
    callback: (err: Error | null, key: Buffer) => void,
  ) => {
    state.calls += 1;
    state.running += 1;
    state.peak = Math.max(state.peak, state.running);
    const held = holdFor !== undefined && password === holdFor;
    if (held) state.heldStarted = true;
    real(password, salt, keylen, options, (err, key) => {
      const answer = () => {
        state.running -= 1;
        callback(err, key);
      };
      if (held) void released.then(answer);
      else answer();
    });
  }) as unknown as typeof crypto.scrypt);
  return { state, release: () => release(), restore: () => spy.mockRestore() };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not seen in time: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const countLines = (srv: AuthServer, pattern: RegExp) => srv.log.lines.filter((l) => pattern.test(l.message)).length;

describe('guesses in flight when the ban begins', () => {
  let srv: AuthServer | undefined;
  let scrypt: ReturnType<typeof watchScrypt> | undefined;
  const conns: RawConnection[] = [];
  afterEach(async () => {
    scrypt?.release();
    scrypt?.restore();
    scrypt = undefined;
    for (const conn of conns.splice(0)) conn.close();
    await srv?.stop();
    srv = undefined;
  });

  it('45 parallel AUTHs, the right password last: no login once banned, at most maxFailures + 1 checked', async () => {
    // Room for 8 scrypt runs at once, so only the per-address turn can hold them back.
    srv = await startAuthServer({ users: [ALICE], policy: { maxFailures: 10 }, maxConcurrentHashes: 8, limits: { maxConnectionsPerIp: 100 } });
    scrypt = watchScrypt();
    // Every connection is open before the first guess (in order, so the
    // last one is also the last the server reads).
    for (let i = 0; i < 45; i += 1) conns.push((await RawConnection.open(srv.port)).conn);
    conns.forEach((conn, i) => conn.command('AUTH', { username: 'alice', password: i < 44 ? `guess-number-${i}` : ALICE.password }));
    const replies = await Promise.all(conns.map((conn) => conn.frame(20_000)));

    expect(replies.map((r) => r.code)).toEqual(Array(45).fill(401));
    expect(replies[44]).toMatchObject({ code: 401, message: expect.stringMatching(/too many failed logins/i) });
    // Ten failures make the ban; one more guess may have been checked beside the tenth.
    expect(scrypt.state.calls).toBeGreaterThanOrEqual(10);
    expect(scrypt.state.calls).toBeLessThanOrEqual(11);
    expect(scrypt.state.peak).toBeLessThanOrEqual(2);
    expect(countLines(srv, /^Failed login as 'alice' from 127\.0\.0\.1/)).toBe(10);
    expect(countLines(srv, /^Banned 127\.0\.0\.1 for 900 s after 10 failed logins/)).toBe(1);
    expect(srv.accounts.isBanned('127.0.0.1')).toBe(true);
    // Nobody is logged in: every connection is still refused.
    for (const conn of conns) expect(await conn.request('LS')).toMatchObject({ code: 401 });
    expect(logText(srv.log)).not.toMatch(/Logged in/);
  });

  it('refuses the right password whose check was under way when a guess beside it started the ban', async () => {
    srv = await startAuthServer({ users: [ALICE], policy: { maxFailures: 3 } });
    const { conn: guesser } = await RawConnection.open(srv.port);
    const { conn: holder } = await RawConnection.open(srv.port);
    conns.push(guesser, holder);
    for (let i = 0; i < 2; i += 1) {
      expect(await guesser.request('AUTH', { username: 'alice', password: `guess-${i}` })).toMatchObject({ code: 401 });
    }
    // The right password is being hashed (held there) when the third guess fails.
    scrypt = watchScrypt(ALICE.password);
    holder.command('AUTH', { username: 'alice', password: ALICE.password });
    await until(() => scrypt!.state.heldStarted, 'the right password being hashed');
    expect(await guesser.request('AUTH', { username: 'alice', password: 'guess-2' })).toMatchObject({
      code: 401,
      message: 'Wrong user name or password',
    });
    expect(srv.accounts.isBanned('127.0.0.1')).toBe(true);
    scrypt.release();

    expect(await holder.frame()).toMatchObject({ code: 401, message: expect.stringMatching(/too many failed logins/i) });
    expect(await holder.request('LS')).toMatchObject({ code: 401 });
    expect(countLines(srv, /^Refused the right password for 'alice' from 127\.0\.0\.1: the address was banned while it was checked$/)).toBe(1);
    expect(logText(srv.log)).not.toMatch(/Logged in/);
  });

  it('serves failure delays one turn at a time: parallel connections cannot skip them', async () => {
    const clock = new FakeClock();
    // No bans here: the delays alone must hold.
    srv = await startAuthServer({
      users: [ALICE],
      clock,
      maxConcurrentHashes: 8,
      policy: { maxFailures: 0, failureDelayMs: 1_000, maxFailureDelayMs: 1_000 },
    });
    scrypt = watchScrypt();
    for (let i = 0; i < 4; i += 1) conns.push((await RawConnection.open(srv.port)).conn);
    conns.forEach((conn, i) => conn.command('AUTH', { username: 'alice', password: `guess-${i}` }));
    const replies = conns.map((conn) => conn.frame(10_000));

    await until(() => countLines(srv!, /^Failed login/) === 2, 'two failures');
    // Two checked, both now waiting out their delay while holding the turns.
    expect(scrypt.state.calls).toBe(2);
    expect(srv.accounts.guard.loginsInFlight('127.0.0.1')).toBe(2);
    clock.advance(1_000);
    await until(() => countLines(srv!, /^Failed login/) === 4, 'four failures');
    expect(scrypt.state.calls).toBe(4);
    clock.advance(1_000);
    for (const reply of await Promise.all(replies)) expect(reply).toMatchObject({ code: 401, message: 'Wrong user name or password' });
    expect(srv.accounts.guard.loginsInFlight('127.0.0.1')).toBe(0);
  });
});

describe('LoginGuard turns', () => {
  it('lets maxLoginsInFlight logins of one address through at once, the rest in arrival order', async () => {
    const guard = new LoginGuard(new FakeClock(), { maxLoginsInFlight: 2, maxLoginsWaiting: 2 });
    const order: string[] = [];
    const first = (await guard.enter('10.0.0.1'))!;
    const second = (await guard.enter('10.0.0.1'))!;
    const third = guard.enter('10.0.0.1').then((leave) => (order.push('third'), leave!));
    const fourth = guard.enter('10.0.0.1').then((leave) => (order.push('fourth'), leave!));
    // A third waiter is one too many: refused at once, unchecked.
    expect(await guard.enter('10.0.0.1')).toBeUndefined();
    // Another address is not held up.
    const other = await guard.enter('10.0.0.2');
    expect(other).toBeDefined();
    expect(guard.loginsInFlight('10.0.0.1')).toBe(2);

    second();
    second(); // a second call of one leave changes nothing
    await third;
    expect(order).toEqual(['third']);
    first();
    (await third)();
    (await fourth)();
    expect(order).toEqual(['third', 'fourth']);
    expect(guard.loginsInFlight('10.0.0.1')).toBe(0);
    other!();
    expect(guard.loginsInFlight('10.0.0.2')).toBe(0);
  });

  it('counts one IPv6 /64 as one address', async () => {
    const guard = new LoginGuard(new FakeClock(), { maxLoginsInFlight: 1, maxLoginsWaiting: 0 });
    const leave = await guard.enter('2001:db8:1:2::a');
    expect(await guard.enter('2001:db8:1:2:ffff::b')).toBeUndefined();
    expect(await guard.enter('2001:db8:1:3::a')).toBeDefined();
    leave!();
    expect(await guard.enter('2001:db8:1:2:ffff::b')).toBeDefined();
  });
});
