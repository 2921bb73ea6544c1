/**
 * Split a command line into words the way a POSIX shell would for simple
 * cases: whitespace separates, "double" and 'single' quotes group, and a
 * backslash escapes the next character (outside single quotes). Enough for
 * file names with spaces; no globbing, variables or pipes.
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
    const ch = line[i]!;
    if (quote) {
      raw += ch;
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length && '"\\'.includes(line[i + 1]!)) {
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

/** Escape a name so {@link tokenize} reads it back as one word. */
export function escapeWord(word: string): string {
  return word.replace(/([\s"'\\])/g, '\\$1');
}
