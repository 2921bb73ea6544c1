import fs from 'node:fs';
import path from 'node:path';
import type { ServerObserver, TransferRecord } from '../core/observer';

/**
 * The transfer log: one tab-separated line per finished or failed transfer,
 * so usage can be summed with `awk -F'\t'` instead of parsing free text.
 *
 *     time	remote	user	direction	result	bytes	expected_bytes	duration_ms	file	error	protocol
 *     2024-11-17T14:30:22.145Z	192.168.1.100:52431	-	download	ok	1024	1024	12	a.jpg	-	native
 *
 * The columns are fixed: new ones may only ever be added at the end
 * (`protocol`, the port the transfer came through, `native` or `ftp`, was
 * the eleventh; lines written before it have ten fields and still parse).
 * Each file starts with the header row above; a file found with another
 * header at startup is rotated to `.1` first, so no file mixes the two. `time` is when the
 * transfer ended, in UTC. `bytes` counts payload bytes that actually moved
 * (for a failed transfer, the part that did). `-` means "none" (`user` when
 * accounts are off, `error` when the transfer succeeded). In text fields a
 * backslash, tab, CR, LF and other control characters are escaped (`\\`,
 * `\t`, `\r`, `\n`, `\xNN`, `\u2028`), and a value that is exactly `-` is
 * written `\-`, so every line has exactly eleven fields.
 */
export const TRANSFER_LOG_COLUMNS = [
  'time',
  'remote',
  'user',
  'direction',
  'result',
  'bytes',
  'expected_bytes',
  'duration_ms',
  'file',
  'error',
  'protocol',
] as const;

/** Fields of a line written before the `protocol` column existed. */
const LEGACY_FIELDS = 10;

/** File name of the transfer log inside the log folder. */
export const TRANSFER_LOG_FILE = 'transfers.log';

/** One parsed line, as {@link parseTransferLine} returns it. */
export type TransferLogEntry = Record<(typeof TRANSFER_LOG_COLUMNS)[number], string | undefined>;

 
const SPECIAL = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeField(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  if (value === '-') return '\\-';
  return value.replace(SPECIAL, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\t':
        return '\\t';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      default: {
        const code = c.charCodeAt(0);
        return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
      }
    }
  });
}

function unescapeField(field: string): string | undefined {
  if (field === '-') return undefined;
  return field.replace(/\\(u[0-9a-f]{4}|x[0-9a-f]{2}|.)/g, (_, e: string) => {
    if (e === 't') return '\t';
    if (e === 'n') return '\n';
    if (e === 'r') return '\r';
    if (e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e;
  });
}

/** The header row each transfer-log file starts with. */
export const TRANSFER_LOG_HEADER = TRANSFER_LOG_COLUMNS.join('\t');

/** One record as a line (no newline). `endedAt` is milliseconds since the epoch. */
export function formatTransferLine(record: TransferRecord, endedAt: number): string {
  return [
    new Date(endedAt).toISOString(),
    escapeField(record.remote),
    escapeField(record.user),
    record.direction,
    record.ok ? 'ok' : 'failed',
    String(record.bytes),
    String(record.expectedBytes),
    String(Math.max(0, Math.round(record.durationMs))),
    escapeField(record.filename),
    escapeField(record.ok ? undefined : (record.error ?? 'failed')),
    record.protocol,
  ].join('\t');
}

/**
 * The fields of one line, unescaped (`undefined` for `-`); `undefined` for
 * a header or a malformed line. A ten-field line from before the
 * `protocol` column came from the native port, the only one there was.
 */
export function parseTransferLine(line: string): TransferLogEntry | undefined {
  const fields = line.split('\t');
  if (fields.length < LEGACY_FIELDS || fields[0] === TRANSFER_LOG_COLUMNS[0]) return undefined;
  const entry = {} as TransferLogEntry;
  TRANSFER_LOG_COLUMNS.forEach((column, i) => {
    entry[column] = i < fields.length ? unescapeField(fields[i]) : undefined;
  });
  if (fields.length === LEGACY_FIELDS) entry.protocol = 'native';
  return entry;
}

/** Options of {@link TransferLog.open}. */
export interface TransferLogOptions {
  /** The file written now, e.g. `logs/transfers.log`; its folder is created if missing. */
  file: string;
  /** Past this size the file is rotated (default 50 MiB). */
  maxBytes?: number;
  /** Files kept, the current one included: `transfers.log`, `.1`, … (default 10). */
  maxFiles?: number;
  /** Clock for the `time` column. */
  now?: () => number;
  /** Told once when a write fails; the server keeps serving. Default: a line on stderr. */
  onError?: (err: Error) => void;
}

/**
 * Writes the transfer log as a {@link ServerObserver}. Rotation renames
 * `transfers.log` → `.1` → `.2` … and drops the oldest, so the folder holds
 * at most `maxFiles` files. Renaming is safe with writes still queued: the
 * old stream keeps its descriptor, so its last lines land in the renamed file.
 * A write error (disk full) is reported once; lines are dropped while the
 * file is broken and it is reopened at most every 10 s.
 */
export class TransferLog implements ServerObserver {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly now: () => number;
  private readonly onError: (err: Error) => void;
  private stream: fs.WriteStream | undefined;
  private size = 0;
  private failed = false;
  /** When the stream last broke; a new one is tried after {@link RETRY_MS}. */
  private brokenAt: number | undefined;
  private closing: Promise<void> | undefined;
  private readonly ending: Array<Promise<void>> = [];

  private constructor(options: TransferLogOptions) {
    this.file = path.resolve(options.file);
    this.maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
    this.maxFiles = Math.max(1, options.maxFiles ?? 10);
    this.now = options.now ?? Date.now;
    this.onError =
      options.onError ??
      ((err) => process.stderr.write(`ftp-server: writing the transfer log failed: ${err.message}\n`));
  }

  /** Open (append to) the log; throws if the file or its folder cannot be created or opened. */
  static open(options: TransferLogOptions): TransferLog {
    const log = new TransferLog(options);
    fs.mkdirSync(path.dirname(log.file), { recursive: true });
    // A file begun under other columns (before `protocol`) is rotated away, so each file has one header.
    const header = headerOf(log.file);
    if (header !== undefined && header !== TRANSFER_LOG_HEADER) log.rotate();
    else log.openStream();
    return log;
  }

  transfer(record: TransferRecord): void {
    if (this.closing) return;
    this.append(`${formatTransferLine(record, this.now())}\n`);
  }

  /** Resolves once every line is in the file. Idempotent; later records are dropped. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.stream) this.ending.push(endStream(this.stream));
      this.stream = undefined;
      await Promise.all(this.ending);
    })();
    return this.closing;
  }

  private append(line: string): void {
    if (this.brokenAt !== undefined) {
      // A full disk or a removed folder may come back: retry now and then.
      if (this.now() - this.brokenAt < RETRY_MS) return;
      this.brokenAt = undefined;
      try {
        this.openStream();
      } catch (err) {
        this.fail(err as Error);
        return;
      }
    }
    const length = Buffer.byteLength(line);
    if (this.size > 0 && this.size + length > this.maxBytes) this.rotate();
    if (!this.stream) return;
    this.stream.write(line);
    this.size += length;
  }

  private openStream(): void {
    // Opened synchronously: a rotation right after must find the file on
    // disk to rename, and lines must not race an asynchronous open.
    const fd = fs.openSync(this.file, 'a');
    const existing = fs.fstatSync(fd).size;
    const stream = fs.createWriteStream('', { fd });
    stream.on('error', (err) => {
      if (this.stream === stream) this.stream = undefined;
      this.fail(err);
    });
    this.stream = stream;
    this.size = existing;
    if (existing === 0) {
      const header = `${TRANSFER_LOG_HEADER}\n`;
      stream.write(header);
      this.size = Buffer.byteLength(header);
    }
  }

  private rotate(): void {
    if (this.stream) this.ending.push(endStream(this.stream));
    this.stream = undefined;
    try {
      const name = (n: number) => (n === 0 ? this.file : `${this.file}.${n}`);
      if (this.maxFiles === 1) fs.rmSync(this.file, { force: true });
      // Oldest first, so each rename lands on a name just freed (or dropped).
      for (let n = this.maxFiles - 2; n >= 0; n -= 1) {
        if (fs.existsSync(name(n))) fs.renameSync(name(n), name(n + 1));
      }
      this.openStream();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private fail(err: Error): void {
    this.brokenAt = this.now();
    if (this.failed) return;
    this.failed = true;
    this.onError(err);
  }
}

/**
 * The first line of `file`, or `undefined` when it is missing, empty or
 * not a regular file (a device such as `/dev/full` is never rotated).
 */
function headerOf(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(TRANSFER_LOG_HEADER.length + 1);
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (length === 0) return undefined;
    return buffer.subarray(0, length).toString('utf8').split('\n')[0];
  } finally {
    fs.closeSync(fd);
  }
}

/** How long a broken transfer log waits before opening its file again. */
const RETRY_MS = 10_000;

function endStream(stream: fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    stream.once('close', () => resolve());
    stream.end();
  });
}
