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
}

/**
 * Hooks for metrics, transfer logs and tests. Every method is optional and
 * called synchronously on the event loop: keep them cheap.
 */
export interface ServerObserver {
  connection?(result: ConnectionResult): void;
  sessionClosed?(): void;
  command?(name: string, code: number, durationMs: number): void;
  /** A GET or PUT is about to move payload bytes. */
  transferStarted?(start: TransferStart): void;
  transfer?(record: TransferRecord): void;
}
