import { visible } from '../ui/terminal-text';

/**
 * Split a command line into words the way a POSIX shell would for simple
 * cases: whitespace separates, "double" and 'single' quotes group, and a
 * backslash escapes the next character (outside single quotes). Enough for
 * file names with spaces; no globbing, variables or pipes.
 *
 * Outside quotes, `\xHH`, `\uHHHH` and `\u{H…}` stand for that character:
 * the client prints unsafe characters of names that way, so what `ls` shows
 * can be typed back to name the file.
 */

/** The words of a line, plus what completion needs about the last one. */
export interface Tokens {
  words: string[];
  /** The last word as typed (with its quotes/escapes), `''` when the line ends in a space. */
  lastRaw: string;
  /** True when a quote was left open. */
  unterminated: boolean;
}

export function tokenize(line: string): Tokens {
  const words: string[] = [];
  let current = '';
  let raw = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quote) {
      raw += ch;
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length && '"\\'.includes(line[i + 1])) {
        current += line[i + 1];
        raw += line[i + 1];
        i += 1;
      } else current += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      raw = '';
      inWord = false;
      continue;
    }
    inWord = true;
    const escape = ch === '\\' ? charEscapeAt(line, i) : null;
    if (escape) {
      current += escape.char;
      raw += line.slice(i, i + escape.length);
      i += escape.length - 1;
      continue;
    }
    raw += ch;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\' && i + 1 < line.length) {
      current += line[i + 1];
      raw += line[i + 1];
      i += 1;
    } else current += ch;
  }
  if (inWord) words.push(current);
  return { words, lastRaw: inWord ? raw : '', unterminated: quote !== null };
}

/** A `\xHH`, `\uHHHH` or `\u{H…}` escape starting at `at`: its character and its length. */
function charEscapeAt(line: string, at: number): { char: string; length: number } | null {
  const match = /^\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\})/.exec(line.slice(at, at + 11));
  if (!match) return null;
  const cp = parseInt(match[1] ?? match[2] ?? match[3], 16);
  if (cp > 0x10ffff) return null;
  return { char: String.fromCodePoint(cp), length: match[0].length };
}

/**
 * Escape a name so {@link tokenize} reads it back as one word, and so it is
 * safe to show: unsafe characters become `\x`/`\u` escapes (see
 * {@link visible}), whitespace and quotes get a backslash.
 */
export function escapeWord(word: string): string {
  return visible(word).replace(/[\s"']/g, '\\$&');
}
