/**
 * Splitting one decoded control line into a verb and its argument.
 *
 * RFC 959 §5.3: a command is a code of up to four alphabetic characters,
 * followed by `<SP>` and its arguments if it has any. RFC 3659 §2.2 settles
 * what the argument is: "Exactly one space will precede the pathname", and
 * "any trailing spaces preceding that CRLF form part of the name". So the
 * argument is the rest of the line after the first space, byte for byte:
 * `STOR  a  b ` stores the file ` a  b `. vsftpd splits the same way (the rest
 * after the first space, untouched); servers that trim lose names that start
 * or end with a space, which the native port can create, so we do not trim.
 */

/** Longest verb accepted: RFC 959 codes are at most four letters, and so are all extensions in use. */
export const MAX_VERB_LENGTH = 4;

/** A parsed command line. */
export type CommandLine =
  /** `verb` is upper-cased ASCII; `arg` is everything after the first space ('' when none). */
  | { kind: 'command'; verb: string; arg: string }
  /** An empty line (or one with only Telnet commands). */
  | { kind: 'empty' }
  /** The line does not start with a verb of 1-4 ASCII letters followed by a space or the end. */
  | { kind: 'bad_verb' };

const VERB = /^[A-Za-z]{1,4}$/;

/** Parse a control line decoded by the line decoder. */
export function parseCommandLine(line: string): CommandLine {
  if (line.length === 0) return { kind: 'empty' };
  const space = line.indexOf(' ');
  const verb = space === -1 ? line : line.slice(0, space);
  // VERB bounds the length too, so a long junk word is never upper-cased or echoed whole.
  if (!VERB.test(verb)) return { kind: 'bad_verb' };
  return { kind: 'command', verb: verb.toUpperCase(), arg: space === -1 ? '' : line.slice(space + 1) };
}

/** Verbs whose argument is a secret and must not reach a log. */
const SECRET_ARGUMENT = new Set(['PASS', 'ACCT']);

/**
 * The command as it may be logged: the argument of `PASS`/`ACCT` is masked.
 * (The logger's own sanitising takes care of control characters.)
 */
export function loggableCommand(verb: string, arg: string): string {
  if (arg.length === 0) return verb;
  return SECRET_ARGUMENT.has(verb) ? `${verb} ****` : `${verb} ${arg}`;
}
