import { SingleBar } from 'cli-progress';
import type { ProgressCallback } from '../transfers';
import { humanRate, humanSize } from './format';
import { visible } from './terminal-text';

/** A progress display for one transfer. */
export interface TransferProgress {
  /** Pass to the client's `onProgress`. */
  readonly onProgress: ProgressCallback;
  /** Remove the bar (the caller prints its own summary line). */
  stop(): void;
}

/** A display that shows nothing: for pipes, files, `--json` and tests. */
export const noProgress: TransferProgress = { onProgress: () => undefined, stop: () => undefined };

/**
 * A bar with size, speed and ETA, drawn on `stream` (a terminal). The bar is
 * created on the first callback, when the total is known; speed counts only
 * the bytes moved by this transfer, not a resumed prefix.
 */
export function terminalProgress(label: string, stream: NodeJS.WritableStream, now: () => number = Date.now): TransferProgress {
  let bar: SingleBar | null = null;
  let startedAt = 0;
  let startValue = 0;
  // The label is usually a name from the server.
  const shownLabel = visible(label);
  const payload = (done: number, total: number): object => ({
    label: shownLabel,
    done: humanSize(done),
    size: humanSize(total),
    speed: humanRate(done - startValue, now() - startedAt),
  });
  return {
    onProgress(done, total) {
      if (!bar) {
        bar = new SingleBar({
          stream,
          format: '{label} [{bar}] {percentage}% | {done} / {size} | {speed} | ETA {eta_formatted}',
          barsize: 24,
          hideCursor: null,
          clearOnComplete: true,
          // The CLI owns signal handling; the bar must not install handlers.
          gracefulExit: false,
          etaBuffer: 50,
          fps: 8,
          emptyOnZero: true,
        });
        startedAt = now();
        startValue = done;
        bar.start(total, done, payload(done, total));
        return;
      }
      bar.update(done, payload(done, total));
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
