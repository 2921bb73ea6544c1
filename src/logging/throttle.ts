import type { Clock } from '../util/clock';

/**
 * Lets one log line per key through per interval and counts the rest, so a
 * flood (a scanner hammering the port, a process out of descriptors) is
 * reported without the log itself becoming the flood.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 10_000,
  ) {}

  /**
   * `undefined` when a line for `key` was written within the interval (it is
   * counted); otherwise how many were held back since the last one written.
   */
  admit(key: string): number | undefined {
    const now = this.clock.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    return suppressed;
  }

  /**
   * Lines held back for `key` since the last one written, and forget the
   * key: for a closing summary, so that what was suppressed is still counted
   * in the log even when no later line comes to carry the note.
   */
  release(key: string): number {
    const suppressed = this.last.get(key)?.suppressed ?? 0;
    this.last.delete(key);
    return suppressed;
  }
}

/** ` (N more like it suppressed)` or nothing. */
export function suppressedNote(count: number): string {
  return count > 0 ? ` (${count} similar line${count === 1 ? '' : 's'} suppressed)` : '';
}
