import fc from 'fast-check';
import { loggableCommand, parseCommandLine } from '../../src/ftp/command-line';

describe('parseCommandLine', () => {
  it.each([
    ['NOOP', 'NOOP', ''],
    ['noop', 'NOOP', ''],
    ['rEtR a.txt', 'RETR', 'a.txt'],
    // RFC 3659 §2.2: exactly one space separates; the rest is the name, spaces and all.
    ['STOR  a  b ', 'STOR', ' a  b '],
    ['STOR a', 'STOR', 'a'],
    ['STOR ', 'STOR', ''],
    ['CWD /a b/c', 'CWD', '/a b/c'],
    ['MKD naïve 🎉', 'MKD', 'naïve 🎉'],
    ['PASS  with spaces ', 'PASS', ' with spaces '],
    ['OPTS UTF8 ON', 'OPTS', 'UTF8 ON'],
    ['X', 'X', ''],
  ])('%j -> verb %s, arg %j', (line, verb, arg) => {
    expect(parseCommandLine(line)).toEqual({ kind: 'command', verb, arg });
  });

  it('reports an empty line as empty', () => {
    expect(parseCommandLine('')).toEqual({ kind: 'empty' });
  });

  it.each([
    [' NOOP', 'a leading space'],
    ['RETRR a', 'a five-letter verb'],
    ['R3TR a', 'a digit'],
    ['RETR\ta', 'a tab as separator'],
    ['ÄBOR', 'a non-ASCII letter'],
    ['A'.repeat(5000), 'a very long word'],
    ['\0NOOP', 'a NUL'],
  ])('refuses %j (%s) as bad_verb', (line) => {
    expect(parseCommandLine(line)).toEqual({ kind: 'bad_verb' });
  });

  it('property: verb + " " + any argument parses back to the same argument', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z]{1,4}$/), fc.string({ unit: 'grapheme' }), (verb, arg) => {
        expect(parseCommandLine(`${verb} ${arg}`)).toEqual({ kind: 'command', verb: verb.toUpperCase(), arg });
      }),
    );
  });
});

describe('loggableCommand', () => {
  it('masks the password and account, keeps everything else', () => {
    expect(loggableCommand('PASS', 'hunter2')).toBe('PASS ****');
    expect(loggableCommand('ACCT', 'x')).toBe('ACCT ****');
    expect(loggableCommand('PASS', '')).toBe('PASS');
    expect(loggableCommand('RETR', ' a b ')).toBe('RETR  a b ');
    expect(loggableCommand('USER', 'alice')).toBe('USER alice');
  });
});
