/**
 * Formatting control-channel replies (RFC 959 §4.2): the only place that
 * turns a code and text into bytes, so no caller can break the framing.
 *
 * A single line is `CODE text CRLF`. Several lines are `CODE-first CRLF`, any
 * middle lines, and `CODE last CRLF`; a client finds the end by looking for
 * the code followed by a space at the start of a line, so a middle line that
 * starts with a digit is indented by one space (RFC 959 §4.2: "the Server
 * must pad the front to avoid confusion").
 *
 * Text that holds names the client or another user chose is made safe here:
 * a LF (or CR LF) starts a new reply line, so it can never end the reply
 * early, and a CR left inside a line is sent as CR NUL, the Telnet form of a
 * CR that is not a line end (RFC 854; RFC 2640 §3.1 asks exactly this for a
 * pathname holding a CR).
 */

/** A reply code: three digits, 100-599. */
export type ReplyCode = number;

function checkCode(code: ReplyCode): void {
  if (!Number.isInteger(code) || code < 100 || code > 599) throw new RangeError(`Not an FTP reply code: ${code}`);
}

/** Split text into reply lines at LF or CR LF; a lone CR stays in its line. */
function splitLines(text: string | readonly string[]): string[] {
  const parts = typeof text === 'string' ? [text] : text;
  return parts.flatMap((part) => part.split(/\r?\n/));
}

/** A CR inside a line goes out as CR NUL so that it cannot read as a line end. */
function escapeCr(line: string): string {
  return line.includes('\r') ? line.replace(/\r/g, '\r\0') : line;
}

/**
 * Format a reply. `text` is one string (split at its line ends) or one
 * string per line; more than one line makes a multi-line reply.
 */
export function formatReply(code: ReplyCode, text: string | readonly string[]): string {
  checkCode(code);
  const lines = splitLines(text).map(escapeCr);
  if (lines.length === 1) return `${code} ${lines[0]}\r\n`;
  const first = lines[0];
  const last = lines[lines.length - 1];
  const middle = lines.slice(1, -1).map((line) => (/^\d/.test(line) ? ` ${line}` : line));
  return [`${code}-${first}`, ...middle, `${code} ${last}`].join('\r\n') + '\r\n';
}

/**
 * Quote a path for a 257 reply (RFC 959 Appendix II): the path in double
 * quotes, each `"` inside doubled, so `a"b` becomes `"a""b"`.
 */
export function quotePath257(path: string): string {
  return `"${path.replace(/"/g, '""')}"`;
}

/** Undo {@link quotePath257} on the start of a 257 text; `undefined` when it is not quoted. For tests and clients. */
export function unquotePath257(text: string): string | undefined {
  const match = /^"((?:[^"]|"")*)"(?!")/.exec(text);
  return match ? (match[1]).replace(/""/g, '"') : undefined;
}

/**
 * The FEAT reply (RFC 2389 §3.2): `211-Features:`, one feature per line
 * with a leading space, `211 End`. Features must not be empty or hold line
 * ends; they come from the server's own table, so a bad one is a bug.
 */
export function formatFeatReply(features: readonly string[]): string {
  if (features.length === 0) return formatReply(211, 'No features');
  for (const feature of features) {
    if (feature.trim().length === 0 || /[\r\n]/.test(feature)) throw new RangeError(`Bad feature line: ${JSON.stringify(feature)}`);
  }
  return formatReply(211, ['Features:', ...features.map((feature) => ` ${feature}`), 'End']);
}

/** Commands per line in the HELP table. */
const HELP_COLUMNS = 8;

/**
 * The HELP reply without an argument (RFC 959 §4.1.3: 214): the recognised
 * verbs in rows with a leading space, so no row can look like a reply code.
 */
export function formatHelpReply(verbs: readonly string[]): string {
  const sorted = [...verbs].sort();
  const rows: string[] = [];
  for (let i = 0; i < sorted.length; i += HELP_COLUMNS) {
    rows.push(` ${sorted.slice(i, i + HELP_COLUMNS).map((verb) => verb.padEnd(5)).join('').trimEnd()}`);
  }
  return formatReply(214, ['The following commands are recognized.', ...rows, 'Help OK.']);
}

/**
 * `HELP verb`: 214 with the verb's syntax, or 502 when the verb is unknown
 * (the client's word is not echoed back).
 */
export function formatHelpForVerb(syntax: string | undefined): string {
  return syntax === undefined ? formatReply(502, 'Unknown command.') : formatReply(214, `Syntax: ${syntax}`);
}
