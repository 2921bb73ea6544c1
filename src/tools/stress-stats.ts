import { FtpError } from '../client/errors';
import { LatencyRecorder, type LatencySummary } from './latency';
import { IntegrityError, OP_NAMES, type OpName } from './stress-mix';

/**
 * Counters shared by every session of a stress run. Sessions are async tasks
 * in one process, so plain fields are enough: no locks, no messages.
 */

/** How a failure counts in the report and in the exit code. */
export type FailureClass = 'integrity' | 'connection' | 'command';

/** One row of the final table. */
export interface CommandRow extends LatencySummary {
  errors: number;
}

/** A failure message and how often it was seen. */
export interface ErrorSample {
  message: string;
  count: number;
}

/** Distinct error messages kept for the report. */
const MAX_ERROR_SAMPLES = 20;

/** Failure kinds of the client that mean the session's connection is gone or was never made. */
const CONNECTION_KINDS = new Set(['network', 'timeout', 'closed', 'refused', 'protocol']);

/** Sort a failure into the class that decides the exit code. */
export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof IntegrityError) return 'integrity';
  if (err instanceof FtpError) {
    if (err.kind === 'integrity') return 'integrity';
    if (CONNECTION_KINDS.has(err.kind)) return 'connection';
  }
  return 'command';
}

export class StressStats {
  private readonly latency = new Map<OpName, LatencyRecorder>();
  private readonly failuresByOp = new Map<OpName, number>();
  private readonly samples = new Map<string, number>();
  ops = 0;
  bytes = 0;
  errors = 0;
  integrityFailures = 0;
  connectionFailures = 0;
  /** Sessions connected right now. */
  active = 0;

  constructor() {
    for (const name of OP_NAMES) this.latency.set(name, new LatencyRecorder());
  }

  /** A command that succeeded, with its latency and payload bytes. */
  succeeded(name: OpName, ms: number, bytes: number): void {
    (this.latency.get(name) as LatencyRecorder).record(ms);
    this.ops += 1;
    this.bytes += bytes;
  }

  /** A command that failed. @returns how it was classified. */
  failed(name: OpName, err: unknown): FailureClass {
    const kind = classifyFailure(err);
    this.errors += 1;
    if (kind === 'integrity') this.integrityFailures += 1;
    if (kind === 'connection') this.connectionFailures += 1;
    this.failuresByOp.set(name, (this.failuresByOp.get(name) ?? 0) + 1);
    const message = `${name}: ${err instanceof Error ? err.message : String(err)}`;
    const seen = this.samples.get(message);
    if (seen !== undefined) this.samples.set(message, seen + 1);
    else if (this.samples.size < MAX_ERROR_SAMPLES) this.samples.set(message, 1);
    return kind;
  }

  /** Per-command rows, for every command that ran or failed at least once. */
  rows(): Partial<Record<OpName, CommandRow>> {
    const rows: Partial<Record<OpName, CommandRow>> = {};
    for (const name of OP_NAMES) {
      const summary = (this.latency.get(name) as LatencyRecorder).summary();
      const errors = this.failuresByOp.get(name) ?? 0;
      if (summary.count > 0 || errors > 0) rows[name] = { ...summary, errors };
    }
    return rows;
  }

  errorSamples(): ErrorSample[] {
    return [...this.samples].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
  }
}
