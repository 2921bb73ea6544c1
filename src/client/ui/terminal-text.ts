/**
 * Text from the server (names, messages) is written by other users, and a
 * terminal obeys some characters instead of showing them: ESC starts escape
 * sequences that retitle the window or clear the screen, a newline fakes an
 * extra line, bidi controls reorder what follows (`report<U+202E>fdp.exe`
 * reads as `reportexe.pdf`) and zero-width characters make two names look the
 * same. Everything the client prints goes through this module.
 */

/**
 * What is never written raw: controls (C0, DEL, C1), format characters (bidi
 * embeddings, overrides, isolates and marks, zero-width characters, the BOM,
 * invisible tags), line and paragraph separators, and lone surrogates (they
 * cannot be encoded and would all print as U+FFFD).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** One character as `\xHH` (up to U+00FF), `\uHHHH` or `\u{HHHHH}`. */
function escapeChar(char: string): string {
  const cp = char.codePointAt(0)!;
  const hex = cp.toString(16);
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\u{${hex}}`;
}

/**
 * `text` with every unsafe character shown as an escape (`\x1b`, `\u202e`)
 * and each backslash doubled, so the result is safe on a terminal and two
 * different strings never print the same. The shell's word parser reads
 * these escapes back, so a name printed by `ls` can be pasted into `get`.
 */
export function visible(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, escapeChar);
}

/**
 * `value` as one line of JSON that is safe on a terminal. `JSON.stringify`
 * escapes C0 controls and lone surrogates but leaves DEL, C1, bidi controls
 * and U+2028/U+2029 raw; those become `\uHHHH` too (per UTF-16 unit, so
 * astral ones are a valid surrogate pair), which `JSON.parse` reads back to
 * the same value.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}
