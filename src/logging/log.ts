/**
 * The logger the library writes to. The CLI passes a winston-backed one;
 * tests pass one that records lines. Levels follow the project's format:
 * INFO for normal operations, WARNING for handled oddities, ERROR for failures.
 */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  /** `err`, when given, adds its stack to the log line (never to the client). */
  error(message: string, err?: unknown): void;
  /** A logger whose lines carry `label` (e.g. `Client-127.0.0.1:52431`). */
  child(label: string): Log;
}

/** A logger that drops everything. */
export const silentLog: Log = {
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLog;
  },
};

/** One recorded line of a {@link MemoryLog}. */
export interface RecordedLine {
  level: 'INFO' | 'WARNING' | 'ERROR';
  label: string;
  message: string;
}

/** A logger that keeps its lines in memory, for tests. */
export class MemoryLog implements Log {
  constructor(
    readonly lines: RecordedLine[] = [],
    private readonly label = 'main',
  ) {}
  info(message: string): void {
    this.lines.push({ level: 'INFO', label: this.label, message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'WARNING', label: this.label, message });
  }
  error(message: string, err?: unknown): void {
    const detail = err instanceof Error ? ` (${err.message})` : '';
    this.lines.push({ level: 'ERROR', label: this.label, message: message + detail });
  }
  child(label: string): Log {
    return new MemoryLog(this.lines, label);
  }
}
