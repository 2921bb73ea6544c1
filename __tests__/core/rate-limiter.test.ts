import { FakeClock } from '../../src/util/clock';
import { RateLimiter } from '../../src/core/rate-limiter';

function limiter(limit: number, windowMs: number, maxTrackedIps?: number) {
  const clock = new FakeClock(1_000_000);
  return { clock, rl: new RateLimiter({ limit, windowMs, clock, maxTrackedIps }) };
}

function acquireMany(rl: RateLimiter, ip: string, n: number): boolean[] {
  return Array.from({ length: n }, () => rl.tryAcquire(ip));
}

describe('RateLimiter', () => {
  it('admits exactly `limit` at one instant, then refuses', () => {
    const { rl } = limiter(5, 60_000);
    expect(acquireMany(rl, '10.0.0.1', 8)).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('slides: an admission stops counting exactly windowMs later', () => {
    const { clock, rl } = limiter(3, 60_000);
    expect(rl.tryAcquire('a')).toBe(true); // t = 0
    clock.advance(10_000);
    expect(rl.tryAcquire('a')).toBe(true); // t = 10 s
    clock.advance(10_000);
    expect(rl.tryAcquire('a')).toBe(true); // t = 20 s
    expect(rl.tryAcquire('a')).toBe(false);

    clock.advance(39_900); // t = 59.9 s: all three still count
    expect(rl.tryAcquire('a')).toBe(false);
    clock.advance(100); // t = 60.0 s: the t = 0 admission no longer counts
    expect(rl.tryAcquire('a')).toBe(true);
    expect(rl.tryAcquire('a')).toBe(false); // 10 s, 20 s and 60 s count

    clock.advance(9_999); // t = 69.999 s
    expect(rl.tryAcquire('a')).toBe(false);
    clock.advance(1); // t = 70 s: the 10 s one expires
    expect(rl.tryAcquire('a')).toBe(true);
    expect(rl.tryAcquire('a')).toBe(false);
  });

  it('is not a fixed bucket: a burst at the end of one minute still blocks the start of the next', () => {
    const { clock, rl } = limiter(2, 60_000);
    clock.advance(59_000);
    expect(acquireMany(rl, 'a', 2)).toEqual([true, true]);
    clock.advance(2_000); // a fixed 60 s bucket would have reset here
    expect(rl.tryAcquire('a')).toBe(false);
    clock.advance(58_000);
    expect(acquireMany(rl, 'a', 3)).toEqual([true, true, false]);
  });

  it('counts only admitted attempts', () => {
    const { clock, rl } = limiter(1, 1_000);
    expect(rl.tryAcquire('a')).toBe(true);
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      expect(rl.tryAcquire('a')).toBe(false); // refused ones never extend the window
    }
    clock.advance(100); // 1,000 ms after the one admission
    expect(rl.tryAcquire('a')).toBe(true);
  });

  it('keeps IPs independent', () => {
    const { rl } = limiter(2, 60_000);
    expect(acquireMany(rl, '10.0.0.1', 3)).toEqual([true, true, false]);
    expect(acquireMany(rl, '10.0.0.2', 3)).toEqual([true, true, false]);
    expect(rl.tryAcquire('::1')).toBe(true);
    expect(rl.trackedIps).toBe(3);
  });

  it('is off with limit 0 and remembers nothing', () => {
    const { rl } = limiter(0, 60_000);
    for (let i = 0; i < 1_000; i++) expect(rl.tryAcquire(`10.0.${i % 7}.1`)).toBe(true);
    expect(rl.trackedIps).toBe(0);
  });

  it('prunes IPs whose window has passed', () => {
    const { clock, rl } = limiter(3, 60_000);
    for (let i = 0; i < 1_000; i++) rl.tryAcquire(`10.0.${i >> 8}.${i & 255}`);
    expect(rl.trackedIps).toBe(1_000);
    clock.advance(30_000);
    rl.tryAcquire('late');
    expect(rl.trackedIps).toBe(1_001); // nothing has expired yet
    clock.advance(30_000); // the first 1,000 expire, 'late' does not
    rl.tryAcquire('later');
    expect(rl.trackedIps).toBe(2);
    // A pruned IP starts with a clean window.
    expect(acquireMany(rl, '10.0.0.0', 4)).toEqual([true, true, true, false]);
  });

  it('stays bounded when IPs keep arriving over a long time', () => {
    const { clock, rl } = limiter(2, 1_000);
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      rl.tryAcquire(`ip-${i}`);
      clock.advance(10); // 100 new IPs per window
      peak = Math.max(peak, rl.trackedIps);
    }
    expect(peak).toBeLessThanOrEqual(101);
  });

  it('forgets the least recently admitted IP past maxTrackedIps', () => {
    const { clock, rl } = limiter(1, 60_000, 3);
    expect(rl.tryAcquire('a')).toBe(true);
    clock.advance(1);
    expect(rl.tryAcquire('b')).toBe(true);
    clock.advance(1);
    expect(rl.tryAcquire('c')).toBe(true);
    expect(rl.tryAcquire('a')).toBe(false); // refused: does not refresh a's place
    expect(rl.tryAcquire('d')).toBe(true); // evicts a
    expect(rl.trackedIps).toBe(3);
    expect(rl.tryAcquire('b')).toBe(false); // still tracked
    expect(rl.tryAcquire('a')).toBe(true); // forgotten, so admitted afresh (evicts b)
    expect(rl.trackedIps).toBe(3);
    expect(rl.tryAcquire('b')).toBe(true);
  });

  it('fails open, not shut, when the clock steps backwards', () => {
    const { clock, rl } = limiter(2, 60_000);
    expect(acquireMany(rl, 'a', 3)).toEqual([true, true, false]);
    clock.advance(-3_600_000); // wall clock stepped back an hour
    expect(acquireMany(rl, 'a', 3)).toEqual([true, true, false]);
  });

  it('rejects nonsense options', () => {
    const clock = new FakeClock();
    expect(() => new RateLimiter({ limit: -1, windowMs: 1, clock })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1.5, windowMs: 1, clock })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1, windowMs: 0, clock })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1, windowMs: 1, clock, maxTrackedIps: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 0, windowMs: 0, clock })).not.toThrow();
  });
});
