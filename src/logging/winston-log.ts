import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type { Clock } from '../util/clock';
import { formatTimestamp, lineFormat } from './format';
import { jsonLineFormat } from './json-format';
import type { Log } from './log';

/** Levels the server's log can be set to; lines below the level are dropped. */
export type ServerLogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly ServerLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** How lines are written: the classic text line (default) or one JSON object per line. */
export type ServerLogFormat = 'classic' | 'json';

/** The values `--log-format` accepts. */
export const LOG_FORMATS: readonly ServerLogFormat[] = ['classic', 'json'];

/** Options of {@link createServerLog}. */
export interface ServerLogOptions {
  /** Folder for the rotating log files (created if missing). No file logging when absent. */
  logDir?: string;
  /** Lowest level written. Default `info`. */
  level?: ServerLogLevel;
  /** Also write to stdout. Default `true`. */
  console?: boolean;
  /** Line format for the console and the files (default `classic`); see `json-format.ts`. */
  format?: ServerLogFormat;
  /** Time source for the line timestamps, so tests can assert exact lines. File names still follow real time. */
  clockForTests?: Pick<Clock, 'now'>;
  /**
   * Size and count limits of the files, for tests that must see rotation
   * without writing 10 MB a part. Default {@link LOG_FILE_SETTINGS}.
   */
  rotation?: {
    /** Start a new part past this size: `'10m'`, `'500k'`. */
    maxSize?: string;
    /** Files kept, parts and days alike; the oldest is removed beyond. */
    maxFiles?: number;
  };
}

/** A winston-backed {@link Log}, the file it writes, and a way to flush it. */
export interface ServerLog {
  /** The root logger; its lines carry the label `main`. */
  log: Log;
  /** Absolute path of the file being written now, or `undefined` without `logDir`. */
  readonly logFile: string | undefined;
  /**
   * Stops logging and resolves once every earlier line is in the file.
   * Idempotent; lines logged afterwards are dropped.
   */
  close(): Promise<void>;
}

/**
 * Rotation settings: one file per local day, a new part past 10 MB, and at
 * most 14 files kept, so the folder cannot grow without bound.
 */
export const LOG_FILE_SETTINGS = Object.freeze({
  filename: 'ftp_server_%DATE%',
  extension: '.log',
  datePattern: 'YYYY-MM-DD',
  maxSize: '10m',
  maxFiles: 14,
});

/** Named by us: otherwise the rotator drops a hash-named audit file into the folder. */
export const AUDIT_FILE_NAME = '.ftp_server-audit.json';

type Sink = (level: ServerLogLevel, label: string, message: string, error?: unknown) => void;

/**
 * Per-connection children are created by the thousand, so a child is just
 * the shared sink plus a label: no winston child, no listeners, nothing to
 * dispose of.
 */
class WinstonLog implements Log {
  constructor(
    private readonly sink: Sink,
    private readonly label: string,
  ) {}
  info(message: string): void {
    this.sink('info', this.label, message);
  }
  warn(message: string): void {
    this.sink('warn', this.label, message);
  }
  error(message: string, err?: unknown): void {
    this.sink('error', this.label, message, err);
  }
  child(label: string): Log {
    return new WinstonLog(this.sink, label);
  }
}

/**
 * The rotator's own stream (file-stream-rotator, under the transport's
 * `logStream`). Not in the typings, but it is the only handle that says when
 * the bytes are really in the file, and the only place its errors surface.
 */
interface RotatorStream {
  end(callback: () => void): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  auditLog?: { files?: Array<{ name?: unknown }> } | null;
}

function rotatorStream(transport: DailyRotateFile): RotatorStream | undefined {
  const stream = (transport as unknown as { logStream?: Partial<RotatorStream> }).logStream;
  return stream && typeof stream.end === 'function' && typeof stream.on === 'function'
    ? (stream as RotatorStream)
    : undefined;
}

/** The file the rotator opened at construction: it announces it before we can listen. */
function initialLogFile(transport: DailyRotateFile, logDir: string): string {
  const files = rotatorStream(transport)?.auditLog?.files;
  const last = files && files.length > 0 ? files[files.length - 1]?.name : undefined;
  if (typeof last === 'string') return path.resolve(last);
  const today = formatTimestamp(Date.now()).slice(0, 10);
  return path.resolve(logDir, LOG_FILE_SETTINGS.filename.replace('%DATE%', today) + LOG_FILE_SETTINGS.extension);
}

/**
 * Resolves when every line is in the file. The transport's first `finish`
 * only means the lines were handed to the rotator's stream, which may still
 * be writing (waiting for the logger's `finish` lost every line in a test),
 * so after it we end that stream too and wait for its callback. winston has
 * already ended it on unpipe; a second `end(cb)` just queues our callback.
 */
function whenFlushed(transport: DailyRotateFile): Promise<void> {
  return new Promise((resolve) => {
    transport.once('finish', () => {
      const stream = rotatorStream(transport);
      if (stream) stream.end(() => resolve());
      else resolve();
    });
  });
}

/**
 * Builds the server's logger: lines in the project's format to stdout and,
 * with `logDir`, to `ftp_server_YYYY-MM-DD.log` files rotated daily and at 10 MB.
 */
export function createServerLog(opts: ServerLogOptions = {}): ServerLog {
  const level = opts.level ?? 'info';
  if (!LEVELS.includes(level)) throw new RangeError(`unknown log level: ${String(level)}`);
  const lineStyle = opts.format ?? 'classic';
  if (!LOG_FORMATS.includes(lineStyle)) throw new RangeError(`unknown log format: ${String(lineStyle)}`);
  const clock = opts.clockForTests ?? { now: () => Date.now() };
  const now = (): number => clock.now();

  const transports: winston.transport[] = [];
  if (opts.console ?? true) {
    // Colour only for a person at a terminal; pipes and files get plain text.
    const colours = process.stdout.isTTY === true && !process.env.NO_COLOR;
    // A Stream transport, not Console: winston's Console writes through
    // whatever `console` is global (a test runner's swallows or reformats it).
    transports.push(
      new winston.transports.Stream({
        stream: process.stdout,
        eol: '\n',
        format: lineStyle === 'json' ? jsonLineFormat({ now }) : lineFormat({ colours, now }),
      }),
    );
  }

  let fileTransport: DailyRotateFile | undefined;
  let currentFile: string | undefined;
  if (opts.logDir !== undefined) {
    const logDir = path.resolve(opts.logDir);
    fs.mkdirSync(logDir, { recursive: true });
    fileTransport = new DailyRotateFile({
      ...LOG_FILE_SETTINGS,
      ...opts.rotation,
      dirname: logDir,
      auditFile: path.join(logDir, AUDIT_FILE_NAME),
      eol: '\n',
      format: lineStyle === 'json' ? jsonLineFormat({ now }) : lineFormat({ now }),
    });
    currentFile = initialLogFile(fileTransport, logDir);
    fileTransport.on('new', (name: string) => {
      currentFile = path.resolve(name);
    });
    transports.push(fileTransport);
  }

  // A failing log (disk full, folder removed) must not take the server down:
  // say so once on stderr and carry on.
  let reported = false;
  const onFailure = (err: unknown): void => {
    if (reported) return;
    reported = true;
    const why = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ftp-server: writing the log failed: ${why}\n`);
  };
  if (fileTransport) rotatorStream(fileTransport)?.on('error', onFailure);

  let closed = false;
  let sink: Sink = () => {};
  let closing: Promise<void> | undefined;
  let finish: () => Promise<void> = async () => {};

  if (transports.length > 0) {
    const logger = winston.createLogger({
      level,
      levels: winston.config.npm.levels,
      // The default json() would stringify every record only to be replaced
      // by each transport's own line.
      format: winston.format((info) => info)(),
      transports,
    });
    logger.on('error', onFailure);
    sink = (lvl, label, message, error) => {
      if (closed || !logger.isLevelEnabled(lvl)) return;
      // The time is taken now, not when winston gets round to formatting.
      const entry: winston.LogEntry = { level: lvl, message, label, time: now() };
      if (error !== undefined) entry.error = error;
      logger.log(entry);
    };
    finish = async () => {
      const flushed = fileTransport ? whenFlushed(fileTransport) : Promise.resolve();
      logger.end();
      await flushed;
    };
  }

  return {
    log: new WinstonLog(sink, 'main'),
    get logFile() {
      return currentFile;
    },
    close() {
      if (!closing) {
        closed = true;
        closing = finish();
      }
      return closing;
    },
  };
}
