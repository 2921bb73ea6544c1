/**
 * Directory listings as FTP clients read them: `LIST` lines in the `ls -l`
 * form, `NLST` names, and the `MLST`/`MLSD` fact lines of RFC 3659 §7.
 *
 * Names holding CR or LF are left out of every listing. A listing is a
 * stream of CRLF-ended lines, and RFC 3659 §2.2 says a name holding CRLF
 * "cannot be transmitted over a data connection": it must be converted to a
 * form the client can convert back, or omitted. No client knows any such
 * form, so omission is the honest choice; the session logs a WARNING per
 * omitted name. The same rule holds for LIST and NLST, whose parsers split
 * on LF just the same.
 */
import { formatFtpTime } from './ftp-time';

/** One entry as the listing commands see it. */
export interface ListingEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  mtime: Date;
}

/** The session user's rights on what is listed (the server's permission names). */
export type ListingAccess = ReadonlySet<'read' | 'write' | 'delete' | 'mkdir' | 'rename'>;

/** False for a name that cannot appear in a listing line (CR or LF inside). */
export function isListableName(name: string): boolean {
  return !/[\r\n]/.test(name);
}

// ---------------------------------------------------------------- LIST

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Half a Gregorian year, as `ls` reckons "recent". */
const SIX_MONTHS_MS = 15_778_476_000;

/** The nominal Unix mode shown for an entry: what this user may do, not the disk's bits. */
export function unixMode(entry: Pick<ListingEntry, 'type'>, access: ListingAccess): number {
  const read = access.has('read') ? 0o444 : 0;
  const write = access.has('write') ? 0o200 : 0;
  // Folders are always enterable: CWD needs no right of its own here.
  return entry.type === 'dir' ? read | write | 0o111 : read | write;
}

function modeString(entry: ListingEntry, access: ListingAccess): string {
  const mode = unixMode(entry, access);
  let bits = entry.type === 'dir' ? 'd' : '-';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const triplet = (mode >> shift) & 7;
    bits += (triplet & 4 ? 'r' : '-') + (triplet & 2 ? 'w' : '-') + (triplet & 1 ? 'x' : '-');
  }
  return bits;
}

/**
 * The `ls -l` date column, in UTC: `Mon DD HH:MM` for the last six months,
 * `Mon DD  YYYY` for older or future times, as `ls` does (and as basic-ftp,
 * FileZilla, curl, lftp and ftplib users' parsers expect). English month
 * names always, whatever the server's locale.
 */
export function listDate(mtime: Date, now: Date): string {
  const month = MONTHS[mtime.getUTCMonth()];
  const day = String(mtime.getUTCDate()).padStart(2, ' ');
  const age = now.getTime() - mtime.getTime();
  if (age >= 0 && age < SIX_MONTHS_MS) {
    const hh = String(mtime.getUTCHours()).padStart(2, '0');
    const mm = String(mtime.getUTCMinutes()).padStart(2, '0');
    return `${month} ${day} ${hh}:${mm}`;
  }
  return `${month} ${day}  ${mtime.getUTCFullYear()}`;
}

/**
 * One `LIST` line, without its line end:
 * `-rw-r--r-- 1 ftp ftp         1234 Mar  5 14:07 name`. Owner and group
 * are the fixed word `ftp` (vsftpd does the same): the server's accounts are
 * nobody's business. The name is the rest of the line, spaces kept.
 */
export function listLine(entry: ListingEntry, now: Date, access: ListingAccess): string {
  const size = String(entry.type === 'dir' ? 4096 : entry.size).padStart(12, ' ');
  return `${modeString(entry, access)} 1 ftp ftp ${size} ${listDate(entry.mtime, now)} ${entry.name}`;
}

/**
 * The arguments of `LIST`/`NLST`: leading option words (`-l`, `-la`, `-aL`,
 * letters and `1` only) are taken as `ls` options, the rest of the line is
 * the path. `--` ends the options. A name that really starts with `-` is
 * reached as `./-x` or `-- -x`; one such as `-x-y` or `-1.txt`, which is not
 * an option word, is a path as it is.
 */
export function splitListArguments(arg: string): { options: string[]; path: string | undefined } {
  const options: string[] = [];
  let rest = arg;
  for (;;) {
    if (rest === '--' || rest.startsWith('-- ')) {
      rest = rest.slice(3);
      break;
    }
    const word = /^-([A-Za-z1]+)(?: |$)/.exec(rest);
    if (!word) break;
    options.push(...(word[1]));
    rest = rest.slice(word[0].length);
  }
  return { options, path: rest === '' ? undefined : rest };
}

/**
 * One `NLST` line: the name, prefixed with the folder the client named when
 * it named one, so every line can be handed back to RETR as it is (RFC 959
 * §4.1.3: "suitable to be used as arguments for other commands").
 */
export function nlstLine(name: string, listedPath: string | undefined): string {
  if (listedPath === undefined) return name;
  return listedPath.endsWith('/') ? `${listedPath}${name}` : `${listedPath}/${name}`;
}

// ---------------------------------------------------------------- MLST / MLSD

/** The facts this server can give (RFC 3659 §7.5), in FEAT order. */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm', 'UNIX.mode'] as const;
export type MlstFact = (typeof MLST_FACTS)[number];

/** Facts given until the client picks others with `OPTS MLST`: all but the optional UNIX.mode. */
export const DEFAULT_MLST_FACTS: readonly MlstFact[] = ['type', 'size', 'modify', 'perm'];

/**
 * `OPTS MLST fact;fact;...` (RFC 3659 §7.9): the facts to give from now on,
 * matched without regard to case; unknown ones are ignored, and an empty
 * list selects none. Returns the selection in this server's order.
 */
export function parseMlstOptions(arg: string): MlstFact[] {
  const wanted = new Set(arg.split(';').map((fact) => fact.trim().toLowerCase()));
  return MLST_FACTS.filter((fact) => wanted.has(fact.toLowerCase()));
}

/** The FEAT line: `MLST type*;size*;modify*;perm*;UNIX.mode;` (`*` marks the selected facts). */
export function mlstFeatureLine(selected: readonly MlstFact[]): string {
  return `MLST ${MLST_FACTS.map((fact) => `${fact}${selected.includes(fact) ? '*' : ''};`).join('')}`;
}

/** The 200 reply text to `OPTS MLST` (RFC 3659 §7.9): `MLST OPTS type;size;`. */
export function mlstOptsReplyText(selected: readonly MlstFact[]): string {
  return `MLST OPTS ${selected.map((fact) => `${fact};`).join('')}`;
}

/** The `perm` fact (RFC 3659 §7.5.5): which FTP commands this user may apply to the entry. */
export function permFact(type: ListingEntry['type'], access: ListingAccess): string {
  const has = (right: Parameters<ListingAccess['has']>[0]): boolean => access.has(right);
  if (type === 'file') {
    // a: APPE, d: DELE, f: RNFR, r: RETR, w: STOR
    return (has('write') ? 'a' : '') + (has('delete') ? 'd' : '') + (has('rename') ? 'f' : '') + (has('read') ? 'r' : '') + (has('write') ? 'w' : '');
  }
  // c: STOR inside, d: RMD, e: CWD, f: RNFR, l: LIST, m: MKD inside, p: DELE/RMD inside
  return (
    (has('write') ? 'c' : '') +
    (has('delete') ? 'd' : '') +
    'e' +
    (has('rename') ? 'f' : '') +
    (has('read') ? 'l' : '') +
    (has('mkdir') ? 'm' : '') +
    (has('delete') ? 'p' : '')
  );
}

/**
 * One MLSD line, or the entry line of an MLST reply without its leading
 * space: `type=file;size=5;modify=20240101120000.123;perm=adfrw; name`.
 * Only the selected facts appear, each followed by `;`, then one space and
 * the name (RFC 3659 §7.2: `entry = [facts] SP pathname`). Folders carry no
 * `size`: the RFC leaves its meaning to the server, and a 0 or 4096 would
 * only mislead a sync tool. The listed folder itself and its parent
 * (`cdir`/`pdir`) are not sent: they are optional, basic-ftp drops them and
 * ftplib users would have to.
 */
export function mlsxLine(entry: ListingEntry, selected: readonly MlstFact[], access: ListingAccess): string {
  let facts = '';
  for (const fact of MLST_FACTS) {
    if (!selected.includes(fact)) continue;
    if (fact === 'type') facts += `type=${entry.type};`;
    else if (fact === 'size' && entry.type === 'file') facts += `size=${entry.size};`;
    else if (fact === 'modify') facts += `modify=${formatFtpTime(entry.mtime, { millis: true })};`;
    else if (fact === 'perm') facts += `perm=${permFact(entry.type, access)};`;
    else if (fact === 'UNIX.mode') facts += `UNIX.mode=0${unixMode(entry, access).toString(8)};`;
  }
  return `${facts} ${entry.name}`;
}

/**
 * The lines of a listing, CRLF-ended, ready for the data connection.
 * Entries whose names cannot be listed are skipped and passed to `omitted`.
 * A generator, so a long listing is written with backpressure, line by line.
 */
export function* listingLines(
  entries: Iterable<ListingEntry>,
  line: (entry: ListingEntry) => string,
  omitted: (entry: ListingEntry) => void = () => {},
): Generator<string> {
  for (const entry of entries) {
    if (isListableName(entry.name)) yield `${line(entry)}\r\n`;
    else omitted(entry);
  }
}
