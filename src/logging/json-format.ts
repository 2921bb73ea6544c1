import { inspect } from 'node:util';
import { format as winstonFormat, type Logform } from 'winston';
import { levelName } from './format';

/**
 * `--log-format json`: one JSON object per line, for log shippers.
 *
 *     {"time":"2024-11-17T14:30:22.145Z","level":"INFO","session":"Client-192.168.1.100:52431",
 *      "remote":"192.168.1.100:52431","event":"download","file":"a.txt","bytes":5,"duration":2,
 *      "message":"GET: Sent file - a.txt (5 bytes in 2 ms)"}
 *
 * The code logs free text (the classic format stays the default and its
 * messages are documented in docs/LOGGING.md §3), so the structured fields
 * are derived here by recognising those documented message shapes; a line
 * no shape matches gets `"event":"message"` and keeps its text. The eight
 * fields below are on every line (`null` when they do not apply), so a
 * shipper's schema never changes shape; a few events add their own
 * (`command`, `reason`, `code`, `to`, `offset`, `expected_bytes`), and an
 * error record adds `error` (stack included). Lines about one connection
 * add `protocol`: `native` (sessions `Client-IP:PORT`) or `ftp` (sessions
 * `FTP-IP:PORT`, the standard FTP port).
 */
export interface JsonLogRecord {
  /** UTC, ISO-8601 with milliseconds. */
  time: string;
  /** `DEBUG`, `INFO`, `WARNING` or `ERROR`, as in the classic format. */
  level: string;
  /** `Client-IP:PORT` (native port) or `FTP-IP:PORT` (FTP port) for lines about one connection, else `null`. */
  session: string | null;
  /** `IP:PORT` of that connection, else `null`. */
  remote: string | null;
  /** What happened: see {@link describeMessage}. */
  event: string;
  /** The file or folder the line is about (as the client named it), else `null`. */
  file: string | null;
  /** Payload bytes moved, for transfers, else `null`. */
  bytes: number | null;
  /** Transfer time in milliseconds, else `null`. */
  duration: number | null;
  /** The classic message text. */
  message: string;
  [extra: string]: unknown;
}

/** What {@link describeMessage} derives from one message. */
export type MessageFields = Partial<Omit<JsonLogRecord, 'time' | 'level' | 'message'>> & { event: string };

type Shape = [RegExp, (m: RegExpExecArray) => MessageFields];

const num = (text: string | undefined): number | null => (text === undefined ? null : Number(text));
const sessionOf = (remote: string): string => `Client-${remote}`;
const ftpSessionOf = (remote: string): string => `FTP-${remote}`;

// Anchored at both ends, names matched greedily: a name holding " (" or
// " - " cannot shift the numbers that follow it.
const SHAPES: Shape[] = [
  [/^Command: ([A-Z]+)(?: (.*))?$/, (m) => ({ event: 'command', command: m[1], file: m[2] ?? null })],
  [
    /^GET: Sent file - (.*) \((\d+) bytes(?: from offset (\d+))? in (\d+) ms\)$/,
    (m) => ({ event: 'download', file: m[1], bytes: num(m[2]), offset: num(m[3]) ?? 0, duration: num(m[4]) }),
  ],
  [
    /^PUT: Received file - (.*) \((\d+) bytes in (\d+) ms\)$/,
    (m) => ({ event: 'upload', file: m[1], bytes: num(m[2]), duration: num(m[3]) }),
  ],
  [
    /^(GET|PUT): Failed to (?:send|receive) file - (.*) \((\d+) of (\d+) bytes in (\d+) ms: (.*)\)$/,
    (m) => ({
      event: m[1] === 'GET' ? 'download_failed' : 'upload_failed',
      file: m[2],
      bytes: num(m[3]),
      expected_bytes: num(m[4]),
      duration: num(m[5]),
      reason: m[6],
    }),
  ],
  [/^LS: Sent (\d+) files to client$/, (m) => ({ event: 'list', entries: num(m[1]) })],
  [/^MKDIR: Created folder - (.*)$/, (m) => ({ event: 'mkdir', file: m[1] })],
  [/^RMDIR: Removed folder - (.*)$/, (m) => ({ event: 'rmdir', file: m[1] })],
  [/^DELETE: Deleted file - (.*)$/, (m) => ({ event: 'delete', file: m[1] })],
  [/^RENAME: Renamed - (.*?) -> (.*)$/, (m) => ({ event: 'rename', file: m[1], to: m[2] })],
  [/^Client (\S+) requested disconnect$/, (m) => ({ event: 'quit', remote: m[1] })],
  [
    /^New connection from (\S+)\. Active connections: (\d+)$/,
    (m) => ({ event: 'connection_opened', remote: m[1], session: sessionOf(m[1]), protocol: 'native', active: num(m[2]) }),
  ],
  [
    /^Connection closed for (\S+) \((.*)\)\. Active connections: (\d+)$/,
    (m) => ({ event: 'connection_closed', remote: m[1], session: sessionOf(m[1]), protocol: 'native', reason: m[2], active: num(m[3]) }),
  ],
  [
    /^Refused connection from (\S+): (.*) \((\d{3})\)(?: \(.*\))?$/,
    (m) => ({ event: 'connection_refused', remote: m[1], protocol: 'native', reason: m[2], code: num(m[3]) }),
  ],
  [
    /^New FTP connection from (\S+)\. Active FTP connections: (\d+)$/,
    (m) => ({ event: 'connection_opened', remote: m[1], session: ftpSessionOf(m[1]), protocol: 'ftp', active: num(m[2]) }),
  ],
  [
    /^FTP connection closed for (\S+) \((.*)\)\. Active FTP connections: (\d+)$/,
    (m) => ({ event: 'connection_closed', remote: m[1], session: ftpSessionOf(m[1]), protocol: 'ftp', reason: m[2], active: num(m[3]) }),
  ],
  [
    /^Refused FTP connection from (\S+): (.*) \((\d{3})\)(?:, .*?)?(?: \(.*\))?$/,
    (m) => ({ event: 'connection_refused', remote: m[1], protocol: 'ftp', reason: m[2], code: num(m[3]) }),
  ],
  [/^(?:FTP|FTPS) listening on (\S+)$/, (m) => ({ event: 'listening', protocol: 'ftp', address: m[1] })],
  [/^Closing connection: (.*)$/, (m) => ({ event: 'connection_aborted', reason: m[1] })],
  [/^Invalid command: (.*)$/, (m) => ({ event: 'invalid_command', reason: m[1] })],
  [/^FTP Server listening on (\S+)$/, (m) => ({ event: 'listening', address: m[1] })],
  [/^Admin endpoint on (\S+)/, (m) => ({ event: 'admin_listening', address: m[1] })],
  [/^Serving (?:folder )?(.*); log file (.*)$/, (m) => ({ event: 'serving', root: m[1], log_file: m[2] })],
  [/^Received (SIG[A-Z]+)/, (m) => ({ event: 'signal', signal: m[1] })],
  [/^Server shutting down/, () => ({ event: 'shutdown' })],
  [/^Server stopped$/, () => ({ event: 'stopped' })],
  // Last: any other `CMD: MESSAGE - NAME` is a refused or failed command.
  [/^([A-Z]+): (.*?) - (.*)$/, (m) => ({ event: 'command_failed', command: m[1], reason: m[2], file: m[3] })],
];

/**
 * The structured fields of one classic message. `label` is the logger's
 * (`main` or `Client-IP:PORT`); lines from a client's logger get that
 * session and remote, lines about a connection from `main` get them from
 * the text.
 */
export function describeMessage(label: string, message: string): MessageFields {
  const fromLabel = /^(Client|FTP)-(.+)$/.exec(label);
  const base: MessageFields = {
    event: 'message',
    session: fromLabel ? label : null,
    remote: fromLabel ? fromLabel[2] : null,
    ...(fromLabel ? { protocol: fromLabel[1] === 'FTP' ? 'ftp' : 'native' } : {}),
  };
  for (const [pattern, fields] of SHAPES) {
    const match = pattern.exec(message);
    if (match) return { ...base, ...fields(match) };
  }
  return base;
}

/** One JSON record (no newline). */
export function formatJsonLine(parts: { time: number; label: string; level: string; message: string; error?: unknown }): string {
  const { event, ...fields } = describeMessage(parts.label, parts.message);
  const record: JsonLogRecord = {
    time: new Date(parts.time).toISOString(),
    level: levelName(parts.level),
    session: null,
    remote: null,
    event,
    file: null,
    bytes: null,
    duration: null,
    ...fields,
    message: parts.message,
  };
  if (parts.error !== undefined) {
    record.error = inspect(parts.error, { depth: 3 });
  }
  // JSON.stringify escapes every control character (and lone surrogates),
  // so a client-chosen name can never break the one-record-per-line rule.
  return JSON.stringify(record);
}

// winston keeps the finished line under Symbol.for('message') (triple-beam).
const MESSAGE = Symbol.for('message');

/** A winston format rendering {@link formatJsonLine}; reads `time`, `label` and `error` like `lineFormat`. */
export function jsonLineFormat(opts: { now?: () => number } = {}): Logform.Format {
  const now = opts.now ?? Date.now;
  return winstonFormat((info) => {
    const record = info as Logform.TransformableInfo & { time?: unknown; label?: unknown; error?: unknown };
    (info as unknown as Record<symbol, unknown>)[MESSAGE] = formatJsonLine({
      time: typeof record.time === 'number' ? record.time : now(),
      label: typeof record.label === 'string' ? record.label : 'main',
      level: String(record.level),
      message: typeof record.message === 'string' ? record.message : inspect(record.message),
      error: record.error,
    });
    return info;
  })();
}
