import { FakeClock, systemClock } from '../../src/util/clock';

describe('systemClock timers', () => {
  it('fire once, pass their argument, and stay cancelled when refreshed after cancel', async () => {
    const fired: string[] = [];
    const kept = systemClock.setTimer(20, (what: string) => fired.push(what), 'kept');
    const cancelled = systemClock.setTimer(20, (what: string) => fired.push(what), 'cancelled');
    cancelled.cancel();
    // A refresh after cancel must not bring the timer (and what it holds) back.
    cancelled.refresh();
    kept.refresh();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(fired).toEqual(['kept']);
  });
});

describe('FakeClock', () => {
  it('fires timers in deadline order only when advanced, and refresh pushes a deadline back', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    const a = clock.setTimer(100, () => fired.push('a'));
    clock.setTimer(50, () => fired.push('b'));
    clock.advance(60);
    expect(fired).toEqual(['b']);
    a.refresh(); // now due at 160
    clock.advance(60);
    expect(fired).toEqual(['b']);
    clock.advance(40);
    expect(fired).toEqual(['b', 'a']);
    expect(clock.now()).toBe(160);
  });

  it('keeps a cancelled timer cancelled, refresh or not', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    const t = clock.setTimer(10, () => fired.push('t'));
    t.cancel();
    t.refresh();
    clock.advance(100);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});
