/**
 * FTP's one time format (RFC 3659 §2.3): `YYYYMMDDHHMMSS[.sss]`, always UTC.
 * Used by MDTM and MFMT replies and by the `modify` fact of MLST/MLSD.
 */

const TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?$/;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Earliest and latest instants the 4-digit year of the format can hold. */
const MIN_TIME = new Date(0).setUTCFullYear(0, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Format a time as RFC 3659 `time-val`, in UTC. With `millis`, a non-zero
 * millisecond part is added as `.sss` (MLSx `modify`); without it, the 14
 * digits alone (MDTM, which older clients such as curl -R read as exactly
 * 14 digits). Times outside years 0000-9999 are clamped: a file with a wild
 * mtime still gets a listing line.
 */
export function formatFtpTime(date: Date, options: { millis?: boolean } = {}): string {
  const time = date.getTime();
  const d = new Date(Number.isNaN(time) ? 0 : Math.min(Math.max(time, MIN_TIME), MAX_TIME));
  const base =
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2);
  const ms = d.getUTCMilliseconds();
  return options.millis && ms !== 0 ? `${base}.${pad(ms, 3)}` : base;
}

/**
 * Parse a `time-val` strictly: 14 digits, an optional fraction of 1-9
 * digits (kept to the millisecond, the precision a `Date` holds), UTC. Every
 * field is range-checked (no 31 February, no hour 24); a second of 60 (a
 * leap second, allowed by RFC 3659 §2.3) reads as 59.999. `undefined` for
 * anything else.
 */
export function parseFtpTime(text: string): Date | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  if (second === 60) date.setUTCHours(hour, minute, 59, 999);
  else date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));
  return date;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The text of MDTM's 213 reply (RFC 3659 §3): the time alone. */
export function mdtmReplyText(mtime: Date): string {
  return formatFtpTime(mtime);
}

/**
 * `MFMT time path` (draft-somers-ftp-mfxx): the time, exactly one space, and
 * the path (the rest of the line, spaces kept). Strict: a bad time or a
 * missing path is a syntax error (501).
 */
export function parseMfmtArgument(arg: string): { time: Date; path: string } | { error: string } {
  const space = arg.indexOf(' ');
  if (space === -1 || space === arg.length - 1) return { error: 'MFMT needs a time and a path' };
  const time = parseFtpTime(arg.slice(0, space));
  if (!time) return { error: 'MFMT time must be YYYYMMDDHHMMSS[.sss], in UTC' };
  return { time, path: arg.slice(space + 1) };
}

/** The text of MFMT's 213 reply: `Modify=YYYYMMDDHHMMSS; path`. */
export function mfmtReplyText(time: Date, path: string): string {
  return `Modify=${formatFtpTime(time)}; ${path}`;
}
