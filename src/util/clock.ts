/** A pending timer that can be pushed back or cancelled. */
export interface Timer {
  /**
   * Restart the countdown from now with the same delay (also after it fired).
   * A cancelled timer stays cancelled: refreshing it does nothing.
   */
  refresh(): void;
  cancel(): void;
}

/**
 * Time as the server sees it. Passed in, never reached for, so that rate
 * windows and timeouts are tested by advancing a fake clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Run `callback(arg)` once after `delayMs`; timers never keep the process
   * alive. Passing `arg` instead of capturing it lets callers share one
   * callback across thousands of timers (one per idle connection).
   */
  setTimer<A = undefined>(delayMs: number, callback: (arg: A) => void, arg?: A): Timer;
}

/** A Node timer behind the {@link Timer} interface, with no closures of its own. */
class NodeTimer implements Timer {
  private cancelled = false;
  constructor(private readonly handle: NodeJS.Timeout) {}
  refresh(): void {
    // The contract says a cancelled timer stays cancelled; say so here
    // rather than lean on what refresh() does to a cleared Node timeout.
    if (!this.cancelled) this.handle.refresh();
  }
  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.handle);
  }
}

/** The real clock: `Date.now` and unref'd Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer<A>(delayMs: number, callback: (arg: A) => void, arg?: A): Timer {
    const handle = setTimeout(callback, delayMs, arg as A);
    handle.unref();
    return new NodeTimer(handle);
  },
};

/**
 * A clock that only moves when told to. Timers fire, in deadline order,
 * during {@link FakeClock.advance}.
 */
export class FakeClock implements Clock {
  private current: number;
  private timers: Array<{ due: number; delay: number; callback: () => void; id: number }> = [];
  private nextId = 0;

  constructor(start = Date.UTC(2024, 10, 17, 14, 30, 22, 145)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer<A>(delayMs: number, callback: (arg: A) => void, arg?: A): Timer {
    const entry = { due: this.current + delayMs, delay: delayMs, callback: () => callback(arg as A), id: this.nextId++ };
    this.timers.push(entry);
    let cancelled = false;
    return {
      refresh: () => {
        if (cancelled) return;
        entry.due = this.current + entry.delay;
        if (!this.timers.includes(entry)) this.timers.push(entry);
      },
      cancel: () => {
        cancelled = true;
        this.timers = this.timers.filter((t) => t !== entry);
      },
    };
  }

  /** Move time forward by `ms`, firing every timer that falls due. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.due);
      due.callback();
    }
    this.current = target;
  }

  /** Timers still waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }
}
