import fc from 'fast-check';
import { baseName, FtpPathError, parentPath, resolveFtpPath } from '../../src/ftp/ftp-paths';

function refusal(cwd: string, arg: string): FtpPathError {
  try {
    resolveFtpPath(cwd, arg);
  } catch (err) {
    if (err instanceof FtpPathError) return err;
    throw err;
  }
  throw new Error(`resolved ${JSON.stringify(arg)} instead of refusing it`);
}

describe('resolveFtpPath', () => {
  it.each([
    ['/', 'a.txt', '/a.txt'],
    ['/docs', 'a.txt', '/docs/a.txt'],
    ['/docs', '/a.txt', '/a.txt'],
    ['/docs', './a.txt', '/docs/a.txt'],
    ['/docs', 'sub/', '/docs/sub'],
    ['/docs', 'sub//x///', '/docs/sub/x'],
    ['/docs/sub', '..', '/docs'],
    ['/docs/sub', '../..', '/'],
    ['/docs', '.', '/docs'],
    ['/docs', '~', '/'],
    ['/docs', '~/x', '/x'],
    ['/docs', '~x', '/docs/~x'],
    ['/docs', './~', '/docs/~'],
    ['/', ' a  b ', '/ a  b '],
    ['/', '-la', '/-la'],
    ['/', 'naïve 🎉', '/naïve 🎉'],
  ])('cwd %s + %j -> %s', (cwd, arg, expected) => {
    expect(resolveFtpPath(cwd, arg)).toBe(expected);
  });

  it.each([
    ['/', '../../etc/passwd', '/etc/passwd'],
    ['/docs', '../../../../etc/passwd', '/etc/passwd'],
    ['/', '/../x', '/x'],
    ['/docs', 'a/../../b', '/b'],
    ['/docs', 'a/../../../../b', '/b'],
    ['/', '..', '/'],
    ['/', '/..', '/'],
    ['/', '../', '/'],
    ['/a/b', '/../../..', '/'],
  ])('keeps escapes inside the root: cwd %s + %j -> %s', (cwd, arg, expected) => {
    expect(resolveFtpPath(cwd, arg)).toBe(expected);
  });

  it('takes %2e%2e literally (a name, not a parent)', () => {
    expect(resolveFtpPath('/docs', '%2e%2e/x')).toBe('/docs/%2e%2e/x');
    expect(resolveFtpPath('/docs', '..%2f..%2fetc')).toBe('/docs/..%2f..%2fetc');
  });

  it.each([
    ['', 'empty'],
    ['a\\..\\..\\etc', 'a backslash'],
    ['..\\x', 'a backslash after ..'],
    ['a\0b', 'a NUL'],
    ['x'.repeat(256), 'a part over 255 bytes'],
    [`${'abcdefgh/'.repeat(460)}x`, 'over 4,096 bytes'],
    ['\ud800', 'a lone surrogate'],
  ])('refuses %s as invalid_path', (arg) => {
    expect(refusal('/', arg).kind).toBe('invalid_path');
  });

  it('refuses a temporary upload name as forbidden, however it is reached', () => {
    const temp = '.ftp-upload-0123456789abcdef.tmp';
    expect(refusal('/', temp).kind).toBe('forbidden');
    expect(refusal('/docs', `../docs/${temp}`).kind).toBe('forbidden');
  });

  it('does not count a part that .. removes against the rules', () => {
    // The resolved path is what storage sees, so only its parts are judged.
    expect(resolveFtpPath('/', `${'x'.repeat(300)}/../a`)).toBe('/a');
  });

  it('property: whatever the client sends, the result is clean, absolute and idempotent', () => {
    const part = fc.constantFrom('..', '.', '', '~', 'a', 'b c', '%2e%2e', '...', 'é');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), fc.array(part, { maxLength: 8 }), fc.boolean(), (cwdParts, argParts, absolute) => {
        const cwd = resolveFtpPath('/', `/${cwdParts.join('/')}`);
        const arg = `${absolute ? '/' : ''}${argParts.join('/')}`;
        if (arg === '') return;
        const out = resolveFtpPath(cwd, arg);
        expect(out.startsWith('/')).toBe(true);
        expect(out.split('/').slice(1).filter((p) => p === '.' || p === '..' || (p === '' && out !== '/'))).toEqual([]);
        expect(resolveFtpPath('/', out)).toBe(out);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('CDUP and names', () => {
  it('goes up one level and stays at the root', () => {
    expect(parentPath('/a/b')).toBe('/a');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBe('/');
  });

  it('gives the last part', () => {
    expect(baseName('/a/b c')).toBe('b c');
    expect(baseName('/')).toBe('');
  });
});
