import fc from 'fast-check';
import { escapeWord, tokenize } from '../../src/client/shell/tokenize';
import { jsonLine, visible } from '../../src/client/ui/terminal-text';
import { terminalProgress } from '../../src/client/ui/progress';
import { Collector, TERMINAL_UNSAFE } from './helpers';

/** What reaches the terminal (issue 10, finding 7). */

const HOSTILE = '\u001b]0;owned\u0007\u001b[2J\u001b[Hreport\u202e.pdf';

test('the hostile name of the report prints as visible escapes', () => {
  expect(visible(HOSTILE)).toBe('\\x1b]0;owned\\x07\\x1b[2J\\x1b[Hreport\\u202e.pdf');
  expect(visible('two\nlines\r')).toBe('two\\x0alines\\x0d');
  expect(visible('del\u007f c1\u0085\u009b')).toBe('del\\x7f c1\\x85\\x9b');
  expect(visible('\u200e\u200f\u061c\u202a\u2066\u2069\u200b\u200d\ufeff\u2028\u2029')).toBe(
    '\\u200e\\u200f\\u061c\\u202a\\u2066\\u2069\\u200b\\u200d\\ufeff\\u2028\\u2029',
  );
  // Invisible tag characters (astral) and a lone surrogate.
  expect(visible('a\u{e0041}b\ud800c')).toBe('a\\u{e0041}b\\ud800c');
  // A backslash is doubled, so a name cannot pose as an escape.
  expect(visible('a\\x1bb')).toBe('a\\\\x1bb');
  // What is safe stays as it is.
  expect(visible('Ünïcödé 日本 😀 naïve café.txt')).toBe('Ünïcödé 日本 😀 naïve café.txt');
});

/** Read `visible`'s output back, written here independently of the shell's parser. */
function unescape(text: string): string {
  return text.replace(/\\(?:\\|x([0-9a-f]{2})|u([0-9a-f]{4})|u\{([0-9a-f]+)\})/g, (all, x, u, braced) =>
    all === '\\\\' ? '\\' : String.fromCodePoint(parseInt(x ?? u ?? braced, 16)));
}

test('visible never lets an unsafe character through, and it can be undone: two names never print the same', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (name) => {
      const shown = visible(name);
      expect(shown).not.toMatch(TERMINAL_UNSAFE);
      expect(unescape(shown)).toBe(name);
    }),
    { numRuns: 1_000 },
  );
  expect(visible('a\u200b')).not.toBe(visible('a\u200d'));
  expect(visible('a\\x1bb')).not.toBe(visible('a\u001bb'));
});

test('a name printed (or completed) can be typed back: the shell parser reads the escapes', () => {
  expect(tokenize(`get ${visible(HOSTILE)}`).words).toEqual(['get', HOSTILE]);
  expect(tokenize('get \\u{1f600}\\x41\\u00e9').words).toEqual(['get', '😀Aé']);
  // Not an escape: as before, the backslash just quotes the next character.
  expect(tokenize('get \\xZZ \\u12 \\q').words).toEqual(['get', 'xZZ', 'u12', 'q']);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (name) => {
      const word = escapeWord(name);
      expect(word).not.toMatch(TERMINAL_UNSAFE);
      expect(tokenize(`x ${word}`).words).toEqual(['x', name]);
    }),
    { numRuns: 1_000 },
  );
});

test('--json lines: JSON.stringify leaves DEL, C1, bidi and U+2028 raw; jsonLine escapes them and parses back the same', () => {
  const value = { name: HOSTILE, also: 'c1\u0085 del\u007f sep\u2028 tag\u{e0041} lone\udc00 "q" \\' };
  expect(JSON.stringify(value)).toMatch(TERMINAL_UNSAFE);
  const line = jsonLine(value);
  expect(line).not.toMatch(TERMINAL_UNSAFE);
  expect(line).toContain('report\\u202e.pdf');
  expect(JSON.parse(line)).toEqual(value);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      const out = jsonLine({ s });
      expect(out).not.toMatch(TERMINAL_UNSAFE);
      expect(JSON.parse(out)).toEqual({ s });
    }),
    { numRuns: 1_000 },
  );
});

test('a progress bar shows its label escaped', () => {
  const tty = Object.assign(new Collector(), { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  const bar = terminalProgress(HOSTILE, tty, () => 0);
  bar.onProgress(0, 100);
  bar.onProgress(50, 100);
  bar.stop();
  // The bar draws with its own escape sequences; the label adds none.
  expect(tty.text).toContain('\\x1b]0;owned\\x07\\x1b[2J\\x1b[Hreport\\u202e.pdf [');
  expect(tty.text).not.toContain('\u001b]0;owned');
  expect(tty.text).not.toContain('\u0007');
  expect(tty.text).not.toContain('\u202e');
});
