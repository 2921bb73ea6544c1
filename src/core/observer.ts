import type { Log } from '../logging/log';
import { LogThrottle, suppressedNote } from '../logging/throttle';
import type { Clock } from '../util/clock';

/** The front end a connection or transfer came through, as metrics and the transfer log label it. */
export type Protocol = 'native' | 'ftp';

/** Why a connection was accepted or refused, as metrics label it. */
export type ConnectionResult =
  | 'accepted'
  | 'max_connections'
  | 'max_connections_per_ip'
  | 'rate_limited'
  | 'banned'
  | 'draining';

/** One finished or failed payload transfer. */
export interface TransferRecord {
  direction: 'download' | 'upload';
  /** The client's name for the file, as sent. */
  filename: string;
  /** Payload bytes that actually moved. */
  bytes: number;
  /** Bytes the transfer should have moved. */
  expectedBytes: number;
  durationMs: number;
  ok: boolean;
  /** `IP:PORT` of the client. */
  remote: string;
  /** The logged-in user, when accounts are on. */
  user?: string;
  /** Why it failed, when it did. */
  error?: string;
  /** The port it came through. */
  protocol: Protocol;
}

/** What a transfer is about to move; followed by exactly one `transfer()`. */
export interface TransferStart {
  direction: 'download' | 'upload';
  /** The client's name for the file, as sent. */
  filename: string;
  /** Bytes the transfer should move. */
  expectedBytes: number;
  /** `IP:PORT` of the client. */
  remote: string;
  user?: string;
  /** The port it comes through. */
  protocol: Protocol;
}

/**
 * Hooks for metrics, transfer logs and tests. Every method is optional and
 * called synchronously on the event loop: keep them cheap.
 */
export interface ServerObserver {
  connection?(result: ConnectionResult, protocol: Protocol): void;
  sessionClosed?(protocol: Protocol): void;
  /** One command answered; `code` is the reply code of its protocol. */
  command?(name: string, code: number, durationMs: number, protocol: Protocol): void;
  /** A GET or PUT is about to move payload bytes. */
  transferStarted?(start: TransferStart): void;
  transfer?(record: TransferRecord): void;
}

/** The hooks of {@link ServerObserver}, by name. */
type Hook = keyof ServerObserver;

/**
 * `observer` with every hook contained: a hook that throws (or returns a
 * promise that rejects) is logged at ERROR, at most once per interval per
 * hook with a count of the failures held back, and never reaches the
 * session or the process. Hooks are plug-ins (metrics, a transfer log, a
 * library user's own), so their failures must not become the server's.
 */
export function safeObserver(observer: ServerObserver, log: Log, clock: Clock): ServerObserver {
  const throttle = new LogThrottle(clock, 60_000, 16);
  const failed = (hook: Hook, err: unknown): void => {
    const suppressed = throttle.admit(hook);
    if (suppressed !== undefined) log.error(`Observer hook ${hook} failed${suppressedNote(suppressed)}`, err);
  };
  const call = <A extends unknown[]>(hook: Hook, args: A): void => {
    try {
      // Called with the observer as `this` just below.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const fn = observer[hook] as ((...a: A) => unknown) | undefined;
      const result = fn?.apply(observer, args);
      if (result instanceof Promise) result.catch((err: unknown) => failed(hook, err));
    } catch (err) {
      failed(hook, err);
    }
  };
  return {
    connection: (result, protocol) => call('connection', [result, protocol]),
    sessionClosed: (protocol) => call('sessionClosed', [protocol]),
    command: (name, code, durationMs, protocol) => call('command', [name, code, durationMs, protocol]),
    transferStarted: (start) => call('transferStarted', [start]),
    transfer: (record) => call('transfer', [record]),
  };
}
