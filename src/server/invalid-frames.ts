import { MAX_INVALID_FRAMES } from '../config/defaults';
import type { Log } from '../logging/log';
import { LogThrottle, suppressedNote } from '../logging/throttle';
import type { Clock } from '../util/clock';

/** The one key of the throttle: all of a connection's invalid frames are alike. */
const KEY = 'invalid';

/**
 * One connection's frames that are not commands (not UTF-8, JSON or an
 * object; wrong type; missing or unknown command). Made on the first, so
 * well-behaved connections never pay for it. Their warnings are throttled
 * (the first, then one per interval with the count of the rest), and after
 * the {@link MAX_INVALID_FRAMES}th the connection is to be closed: a flood
 * of junk can neither fill the log nor keep the server busy.
 */
export class InvalidFrames {
  private count = 0;
  private readonly warnings: LogThrottle;

  constructor(
    private readonly log: Log,
    clock: Clock,
    private readonly limit = MAX_INVALID_FRAMES,
  ) {
    this.warnings = new LogThrottle(clock);
  }

  /** Count one (answered `400` by the caller); true when it was the last allowed: close after answering it. */
  record(reason: string): boolean {
    this.count += 1;
    const suppressed = this.warnings.admit(KEY);
    if (suppressed !== undefined) this.log.warn(`Invalid command: ${reason}${suppressedNote(suppressed)}`);
    if (this.count < this.limit) return false;
    this.log.warn(`Closing connection: ${this.limit} invalid frames${suppressedNote(this.warnings.release(KEY))}`);
    return true;
  }

  /** The connection ended: write how many warnings were held back since the last one written, if any. */
  ended(): void {
    const held = this.warnings.release(KEY);
    if (held > 0) this.log.warn(`Invalid command: ${held} similar line${held === 1 ? '' : 's'} suppressed`);
  }
}
