import { inspect } from 'node:util';
import { format as winstonFormat, type Logform } from 'winston';

/**
 * The server's log line, as pure functions plus one winston format:
 *
 *     2024-11-17 14:30:22,145 - [Client-192.168.1.100:52431] - INFO - GET: Sent file - a.txt
 *
 * Kept apart from the transports so the exact text can be tested without
 * winston or files.
 */

/** The level words of the format. winston's `warn` is spelled WARNING here. */
export type LevelName = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** What one line is built from. `time` is milliseconds since the epoch. */
export interface LineParts {
  time: number;
  label: string;
  /** A winston level (`error`, `warn`, `info`, `debug`, ...). */
  level: string;
  message: string;
  /** When present, rendered on the lines after the record (stack, code, cause). */
  error?: unknown;
}

// winston keeps the finished line under this key; triple-beam defines it as
// Symbol.for('message'), so we need not import that transitive package.
const MESSAGE = Symbol.for('message');

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
const pad3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

/** Local time as `YYYY-MM-DD HH:MM:SS,mmm` (the comma is the format's, not a locale's). */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())},${pad3(d.getMilliseconds())}`
  );
}

/** The format's word ({@link LevelName}) for a winston level; unknown levels are upper-cased. */
export function levelName(level: string): string {
  switch (level) {
    case 'warn':
      return 'WARNING';
    case 'error':
      return 'ERROR';
    case 'info':
      return 'INFO';
    case 'debug':
      return 'DEBUG';
    default:
      return level.toUpperCase();
  }
}

// Line breaks, other C0/C1 controls (ESC drives terminals) and the Unicode
// line separators. Tab is left alone: it cannot start a forged record.
 
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  const code = c.charCodeAt(0);
  return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Makes text safe for one log line. Messages carry client-chosen names, and
 * a filename holding "\n2024-… - [main] - INFO - …" must not forge a record
 * (nor an ESC sequence repaint the operator's terminal).
 */
export function escapeControl(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/**
 * The lines that follow an error record. `util.inspect` gives the stack plus
 * what the stack leaves out (`code`, `syscall`, `cause`). Every line is
 * indented so that none can be read as the start of a record, whatever the
 * error's message holds.
 */
export function formatErrorDetail(err: unknown): string {
  const text = err instanceof Error ? inspect(err, { depth: 3 }) : `thrown: ${inspect(err, { depth: 3 })}`;
  return text
    .split(/\r\n|\r|\n/)
    .filter((line) => line.length > 0)
    .map((line) => {
      const safe = escapeControl(line);
      return /^[ \t]/.test(safe) ? safe : `    ${safe}`;
    })
    .join('\n');
}

const LEVEL_COLOURS: Record<string, string> = {
  ERROR: '\x1b[31m',
  WARNING: '\x1b[33m',
  INFO: '\x1b[32m',
  DEBUG: '\x1b[34m',
};

/** One record: the header line and, for errors, the indented detail lines (joined with `\n`). */
export function formatLine(parts: LineParts, colours = false): string {
  const word = levelName(parts.level);
  const shown = colours && LEVEL_COLOURS[word] ? `${LEVEL_COLOURS[word]}${word}\x1b[0m` : word;
  const head =
    `${formatTimestamp(parts.time)} - [${escapeControl(parts.label)}] - ${shown} - ` +
    escapeControl(parts.message);
  return parts.error === undefined ? head : `${head}\n${formatErrorDetail(parts.error)}`;
}

/** Options of {@link lineFormat}. */
export interface LineFormatOptions {
  /** Colour the level word (only for a terminal). */
  colours?: boolean;
  /** Clock for records that carry no `time` of their own. */
  now?: () => number;
}

/**
 * A winston format that renders {@link formatLine}. It reads `time`, `label`
 * and `error` from the info object (set by the server's logger at the moment
 * of the call, so a queued line keeps its own time).
 */
export function lineFormat(opts: LineFormatOptions = {}): Logform.Format {
  const now = opts.now ?? Date.now;
  const colours = opts.colours ?? false;
  return winstonFormat((info) => {
    const record = info as Logform.TransformableInfo & { time?: unknown; label?: unknown; error?: unknown };
    const line = formatLine(
      {
        time: typeof record.time === 'number' ? record.time : now(),
        label: typeof record.label === 'string' ? record.label : 'main',
        level: String(record.level),
        message: typeof record.message === 'string' ? record.message : inspect(record.message),
        error: record.error,
      },
      colours,
    );
    (info as unknown as Record<symbol, unknown>)[MESSAGE] = line;
    return info;
  })();
}
