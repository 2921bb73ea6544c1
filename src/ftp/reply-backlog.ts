/**
 * The bound on replies a control connection's client has not read. While
 * more than {@link MAX_UNSENT_REPLY_BYTES} wait unsent, the session stops
 * reading commands (so a client that pipelines without reading cannot make
 * the server queue replies without end); if none leave for the transfer
 * timeout, the client is cut. Reading resumes on the socket's `drain`.
 */
import { MAX_UNSENT_REPLY_BYTES } from '../config/defaults';
import type { Clock, Timer } from '../util/clock';

/** What a {@link ReplyBacklog} watches and whom it tells. */
export interface ReplyBacklogDeps {
  clock: Clock;
  /** How long unsent replies may stay stuck before the client is cut. */
  timeoutMs: number;
  /** Bytes written to the control connection and not yet sent. */
  unsent(): number;
  /** The replies drained below the bound: read commands again. */
  resume(): void;
  /** No reply left for `timeoutMs`: end the session. */
  stuck(reason: string): void;
}

/** See the module comment. */
export class ReplyBacklog {
  private timer: Timer | undefined;
  private unsentAtCheck = 0;

  constructor(private readonly deps: ReplyBacklogDeps) {}

  /** True while reading is held back for unread replies. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** True while replies wait unsent past the bound (the stall timer then runs): stop reading. */
  over(): boolean {
    const unsent = this.deps.unsent();
    if (unsent <= MAX_UNSENT_REPLY_BYTES) return false;
    if (!this.timer) {
      this.unsentAtCheck = unsent;
      this.timer = this.deps.clock.setTimer(this.deps.timeoutMs, () => this.check());
    }
    return true;
  }

  /** The socket drained: stop watching and let the session read again. */
  drained(): void {
    if (!this.timer) return;
    this.cancel();
    this.deps.resume();
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private check(): void {
    const unsent = this.deps.unsent();
    if (unsent <= MAX_UNSENT_REPLY_BYTES) return this.drained();
    if (unsent < this.unsentAtCheck) {
      // Some left: a slow reader, not a stuck one.
      this.unsentAtCheck = unsent;
      this.timer?.refresh();
      return;
    }
    this.deps.stuck(`replies unread for ${this.deps.timeoutMs / 1000} s`);
  }
}
