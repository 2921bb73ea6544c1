import { assertSafeLocalName, localNameFor, unsafeNameReason } from '../../src/client/local-files';
import { joinRemote, resolveRemote, toWirePath } from '../../src/client/remote-path';
import { parseInput } from '../../src/client/shell/command-spec';
import { findCommand } from '../../src/client/shell/commands';
import { globToRegExp } from '../../src/client/shell/commands/transfer';
import { escapeWord, tokenize } from '../../src/client/shell/tokenize';
import { FtpError } from '../../src/client/errors';
import { UsageError } from '../../src/client/ui/exit-codes';

/** Local name checks, remote path resolution, and the shell's word parsing. */

test('only plain names may touch the local disk', () => {
  for (const bad of ['', '.', '..', '../x', 'a/b', '/etc/passwd', 'a\\b', '..\\x', 'C:\\x', 'a\0b']) {
    expect({ bad, reason: unsafeNameReason(bad) !== null }).toEqual({ bad, reason: true });
    expect(() => assertSafeLocalName(bad)).toThrow(FtpError);
  }
  for (const good of ['a.txt', '.hidden', '..foo', 'x y', 'é.md', 'C:x']) expect(unsafeNameReason(good)).toBeNull();
  expect(localNameFor('photos/2024/a.jpg')).toBe('a.jpg');
  expect(() => localNameFor('/')).toThrow(expect.objectContaining({ kind: 'unsafe_name' }));
});

test('remote paths resolve against the working folder and never climb above the root', () => {
  expect(resolveRemote('/', 'a/b')).toBe('/a/b');
  expect(resolveRemote('/a/b', '../c')).toBe('/a/c');
  expect(resolveRemote('/a', '../../..')).toBe('/');
  expect(resolveRemote('/a', '/x//y/./')).toBe('/x/y');
  expect(resolveRemote('/a', '.')).toBe('/a');
  expect(toWirePath('/')).toBe('/');
  expect(toWirePath('/a/b')).toBe('a/b');
  expect(joinRemote('/d', 'f')).toBe('/d/f');
});

test('tokenize handles quotes and escapes, and reports the last raw word', () => {
  expect(tokenize('get "my file.txt" local\\ copy')).toEqual({ words: ['get', 'my file.txt', 'local copy'], lastRaw: 'local\\ copy', unterminated: false });
  expect(tokenize("put 'it''s' ")).toEqual({ words: ['put', 'its'], lastRaw: '', unterminated: false });
  expect(tokenize('get "open')).toMatchObject({ words: ['get', 'open'], lastRaw: '"open', unterminated: true });
  const name = 'we "ird" \\ name';
  expect(tokenize(`x ${escapeWord(name)}`).words).toEqual(['x', name]);
});

test('commands are found case-insensitively and parse flags and arguments', () => {
  const get = findCommand('GET')!;
  expect(get.name).toBe('get');
  expect(findCommand('Delete')!.name).toBe('rm');
  expect(findCommand('nope')).toBeUndefined();
  const input = parseInput(get, ['-c', 'a', '-']);
  expect([...input.flags]).toEqual(['c']);
  expect(input.args).toEqual(['a', '-']);
  expect(parseInput(get, ['--continue', '--', '-x']).args).toEqual(['-x']);
  expect(() => parseInput(get, [])).toThrow(new UsageError('usage: get [-c] REMOTE [LOCAL]'));
  expect(() => parseInput(get, ['a', 'b', 'c'])).toThrow(UsageError);
  expect(() => parseInput(get, ['-z', 'a'])).toThrow(/unknown option -z/);
  expect(parseInput(findCommand('rm')!, ['a', 'b', 'c']).args).toEqual(['a', 'b', 'c']);
});

test('mget patterns', () => {
  expect(globToRegExp('*.txt').test('a.txt')).toBe(true);
  expect(globToRegExp('*.txt').test('a.txt.bak')).toBe(false);
  expect(globToRegExp('?.md').test('ab.md')).toBe(false);
  expect(globToRegExp('a+(b).c').test('a+(b).c')).toBe(true);
});
