import type { ConnectionResult, Protocol, ServerObserver, TransferRecord, TransferStart } from '../core/observer';

/**
 * One observer that forwards every hook to each of `observers`, in order.
 * A throwing observer must not break a session nor starve the others, so
 * each call is isolated; the first failure is reported through `onError`
 * (once per observer, so a broken one cannot flood the log).
 */
export function combineObservers(
  observers: ReadonlyArray<ServerObserver | undefined>,
  onError: (err: unknown) => void = reportOnStderr,
): ServerObserver {
  const list = observers.filter((o): o is ServerObserver => o !== undefined);
  const reported = new Set<ServerObserver>();
  const each = (call: (o: ServerObserver) => void): void => {
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
    connection: (result: ConnectionResult, protocol: Protocol) => each((o) => o.connection?.(result, protocol)),
    sessionClosed: (protocol: Protocol) => each((o) => o.sessionClosed?.(protocol)),
    command: (name: string, code: number, durationMs: number, protocol: Protocol) => each((o) => o.command?.(name, code, durationMs, protocol)),
    transfer: (record: TransferRecord) => each((o) => o.transfer?.(record)),
    transferStarted: (start: TransferStart) => each((o) => o.transferStarted?.(start)),
  };
}

function reportOnStderr(err: unknown): void {
  process.stderr.write(`ftp-server: an observer failed and was skipped: ${err instanceof Error ? err.message : String(err)}\n`);
}
