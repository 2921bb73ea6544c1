import fc from 'fast-check';
import { toNativeError } from '../../src/server/replies';
import { StorageError } from '../../src/storage/errors';
import {
  MAX_PATH_BYTES,
  TEMP_UPLOAD_PATTERN,
  compareCodePoints,
  isTempUploadName,
  parseClientPath,
} from '../../src/storage/path-rules';
import { newTempUploadName } from '../../src/storage/temp-files';

/** The error `fn` throws; fails the test if it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function expectBadRequest(raw: string): void {
  const err = thrown(() => parseClientPath(raw));
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).kind).toBe('invalid_path');
  expect(toNativeError(err).code).toBe(400);
}

describe('parseClientPath: splitting', () => {
  it.each([
    ['report.pdf', ['report.pdf']],
    ['photos/2024/a.jpg', ['photos', '2024', 'a.jpg']],
    ['/a//b/', ['a', 'b']],
    ['/', []],
    ['//', []],
    ['/x', ['x']],
    ['.hidden', ['.hidden']],
    ['...', ['...']],
    ['..foo/foo..', ['..foo', 'foo..']],
    ['a b/ c ', ['a b', ' c ']],
    ['ünïcødé/日本', ['ünïcødé', '日本']],
  ])('%j -> %j', (raw, parts) => {
    expect(parseClientPath(raw)).toEqual(parts);
  });
});

describe('parseClientPath: refused with 400', () => {
  it.each([
    ['empty string', ''],
    ['..', '..'],
    ['. alone', '.'],
    ['.. in the middle', 'a/../b'],
    ['leading .', './a'],
    ['trailing .', 'a/.'],
    ['escape from root', '/../etc/passwd'],
    ['backslash', 'a\\b'],
    ['backslash traversal', '..\\..\\etc'],
    ['NUL', 'a\0b'],
    ['NUL at end', 'a.txt\0'],
    ['lone high surrogate', 'a\uD800b'],
    ['lone low surrogate', '\uDC00'],
  ])('%s', (_label, raw) => {
    expectBadRequest(raw);
  });

  it('counts the whole path in UTF-8 bytes: 4,096 passes, 4,097 does not', () => {
    // Parts of 200 bytes but only 100 UTF-16 units each, so a length check
    // in units instead of bytes would let both through.
    const part = 'é'.repeat(100);
    const base = Array.from({ length: 20 }, () => part).join('/'); // 4,019 bytes
    const ok = `${base}/${'a'.repeat(76)}`;
    const tooLong = `${base}/${'a'.repeat(77)}`;
    expect(Buffer.byteLength(ok)).toBe(MAX_PATH_BYTES);
    expect(Buffer.byteLength(tooLong)).toBe(MAX_PATH_BYTES + 1);
    expect(tooLong.length).toBeLessThan(MAX_PATH_BYTES);
    expect(parseClientPath(ok)).toHaveLength(21);
    expectBadRequest(tooLong);
  });

  it('counts a part in UTF-8 bytes: 255 passes, 256 does not', () => {
    const ok = `${'é'.repeat(127)}a`; // 255 bytes, 128 units
    expect(Buffer.byteLength(ok)).toBe(255);
    expect(parseClientPath(`dir/${ok}`)).toEqual(['dir', ok]);
    expectBadRequest(`dir/${'é'.repeat(128)}`); // 256 bytes
    expectBadRequest('😀'.repeat(64)); // 256 bytes in 128 units
    expect(parseClientPath('😀'.repeat(63))).toHaveLength(1); // 252 bytes
  });

  it('prefers 400 over the reserved-name 403 when a path breaks both', () => {
    expectBadRequest('.ftp-upload-0123456789abcdef.tmp/..');
  });
});

describe('parseClientPath: temporary upload names are reserved (403)', () => {
  it.each([
    '.ftp-upload-0123456789abcdef.tmp',
    '/dir/.ftp-upload-0123456789abcdef.tmp',
    '.ftp-upload-0123456789abcdef.tmp/inside',
  ])('%s', (raw) => {
    const err = thrown(() => parseClientPath(raw));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).kind).toBe('forbidden');
    expect(toNativeError(err).code).toBe(403);
    expect((err as Error).message).toBe('Reserved name');
  });

  it('reserves only the exact pattern, so look-alike user files stay usable', () => {
    for (const name of [
      '.ftp-upload-0123456789ABCDEF.tmp',
      '.ftp-upload-0123456789abcde.tmp',
      '.ftp-upload-0123456789abcdef.tmp.bak',
      'ftp-upload-0123456789abcdef.tmp',
    ]) {
      expect(isTempUploadName(name)).toBe(false);
      expect(parseClientPath(name)).toEqual([name]);
    }
  });

  it('matches every name the server generates for temporary files', () => {
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) names.add(newTempUploadName());
    expect(names.size).toBe(200);
    for (const name of names) {
      expect(name).toMatch(TEMP_UPLOAD_PATTERN);
      expect(isTempUploadName(name)).toBe(true);
    }
  });
});

describe('parseClientPath: properties', () => {
  it('either refuses with a protocol error or returns only safe parts', () => {
    const pieces = fc.constantFrom('a', 'é', '😀', '.', '..', '/', '//', '\\', '\0', '\uD800', ' ', '.ftp-upload-');
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.array(pieces, { maxLength: 12 }).map((list) => list.join('')),
    );
    fc.assert(
      fc.property(raw, (input) => {
        let parts: readonly string[];
        try {
          parts = parseClientPath(input);
        } catch (err) {
          expect(err).toBeInstanceOf(StorageError);
          expect([400, 403]).toContain(toNativeError(err).code);
          return;
        }
        for (const part of parts) {
          expect(part.length).toBeGreaterThan(0);
          expect(part).not.toMatch(/[/\\\0]/);
          expect(['.', '..']).not.toContain(part);
          expect(isTempUploadName(part)).toBe(false);
        }
        // Joining the parts again gives back a path naming the same thing.
        expect(parseClientPath(`/${parts.join('/')}`)).toEqual(parts);
      }),
      { numRuns: 500 },
    );
  });
});

describe('compareCodePoints', () => {
  it('orders by code point, not by UTF-16 unit', () => {
    const names = ['\u{1F600}', '\uFF01', 'B', 'a', '_', 'ab', ''];
    // The default sort puts U+1F600 (lead unit 0xD83D) before U+FF01.
    expect([...names].sort()).toEqual(['', 'B', '_', 'a', 'ab', '\u{1F600}', '\uFF01']);
    expect([...names].sort(compareCodePoints)).toEqual(['', 'B', '_', 'a', 'ab', '\uFF01', '\u{1F600}']);
  });

  it('agrees with UTF-8 byte order on arbitrary strings', () => {
    const name = fc.string({ unit: 'binary', maxLength: 8 });
    fc.assert(
      fc.property(name, name, (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        expect(Math.sign(compareCodePoints(a, b))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
