import type { ServerObserver, TransferRecord, ConnectionResult } from '../server/observer';

/**
 * What a transfer is about to move. Not yet a hook of `ServerObserver`: the
 * observers here implement it so that in-flight counts become exact as soon
 * as the server calls it (see {@link TransferStartObserver}).
 */
export interface TransferStart {
  direction: 'download' | 'upload';
  /** The client's name for the file, as sent. */
  filename: string;
  /** Bytes the transfer should move. */
  expectedBytes: number;
  /** `IP:PORT` of the client. */
  remote: string;
  user?: string;
}

/**
 * A {@link ServerObserver} that may also hear of transfers starting and of
 * commands starting (the latter tapped from the log until the server has
 * a hook of its own; see `tapCommandStarts`).
 */
export interface TransferStartObserver extends ServerObserver {
  /** A GET or PUT is about to move payload bytes; paired with one `transfer()`. */
  transferStarted?(start: TransferStart): void;
  /** A known command is about to run; paired with one `command()`. */
  commandStarted?(name: string): void;
}

/**
 * One observer that forwards every hook to each of `observers`, in order.
 * A throwing observer must not break a session nor starve the others, so
 * each call is isolated; the first failure is reported through `onError`
 * (once per observer, so a broken one cannot flood the log).
 */
export function combineObservers(
  observers: ReadonlyArray<TransferStartObserver | undefined>,
  onError: (err: unknown) => void = reportOnStderr,
): TransferStartObserver {
  const list = observers.filter((o): o is TransferStartObserver => o !== undefined);
  const reported = new Set<TransferStartObserver>();
  const each = (call: (o: TransferStartObserver) => void): void => {
    for (const observer of list) {
      try {
        call(observer);
      } catch (err) {
        if (!reported.has(observer)) {
          reported.add(observer);
          onError(err);
        }
      }
    }
  };
  return {
    connection: (result: ConnectionResult) => each((o) => o.connection?.(result)),
    sessionClosed: () => each((o) => o.sessionClosed?.()),
    command: (name: string, code: number, durationMs: number) => each((o) => o.command?.(name, code, durationMs)),
    transfer: (record: TransferRecord) => each((o) => o.transfer?.(record)),
    transferStarted: (start: TransferStart) => each((o) => o.transferStarted?.(start)),
    commandStarted: (name: string) => each((o) => o.commandStarted?.(name)),
  };
}

function reportOnStderr(err: unknown): void {
  process.stderr.write(`ftp-server: an observer failed and was skipped: ${err instanceof Error ? err.message : String(err)}\n`);
}
