import fc from 'fast-check';
import {
  DEFAULT_MLST_FACTS,
  listDate,
  listingLines,
  listLine,
  mlstFeatureLine,
  mlstOptsReplyText,
  mlsxLine,
  nlstLine,
  parseMlstOptions,
  permFact,
  splitListArguments,
  type ListingAccess,
  type ListingEntry,
} from '../../src/ftp/listing-format';

const ALL: ListingAccess = new Set(['read', 'write', 'delete', 'mkdir', 'rename']);
const READ_ONLY: ListingAccess = new Set(['read']);
const now = new Date(Date.UTC(2024, 5, 15, 12, 0, 0));
const file = (name: string, size = 1234, mtime = new Date(Date.UTC(2024, 2, 5, 14, 7, 9, 250))): ListingEntry => ({
  name,
  type: 'file',
  size,
  mtime,
});
const dir = (name: string): ListingEntry => ({ name, type: 'dir', size: 0, mtime: new Date(Date.UTC(2020, 0, 9)) });

/**
 * The Unix LIST line as FTP clients parse it (the shape Apache Commons Net's
 * parser and its ports such as basic-ftp's parseListUnix accept): type and
 * nine mode letters, link count, owner, group, size, `Mon [d]d`, `hh:mm` or
 * a year, ONE space, then the name to the end of the line.
 */
const UNIX_LINE =
  /^([-d])([-r][-w][-x]){3} +(\d+) +(\S+) +(\S+) +(\d+) +([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}:\d{2}|\d{4}) (.*)$/s;

describe('LIST', () => {
  it('writes ls -l lines with the time for recent files and the year for old ones', () => {
    expect(listLine(file('a.txt'), now, ALL)).toBe('-rw-r--r-- 1 ftp ftp         1234 Mar  5 14:07 a.txt');
    expect(listLine(dir('docs'), now, ALL)).toBe('drwxr-xr-x 1 ftp ftp         4096 Jan  9  2020 docs');
    expect(listLine(file('ro'), now, READ_ONLY)).toBe('-r--r--r-- 1 ftp ftp         1234 Mar  5 14:07 ro');
  });

  it('uses the year form past six months and for times in the future', () => {
    expect(listDate(new Date(Date.UTC(2024, 0, 1, 8, 30)), now)).toBe('Jan  1 08:30');
    expect(listDate(new Date(Date.UTC(2023, 11, 1)), now)).toBe('Dec  1  2023');
    expect(listDate(new Date(Date.UTC(2024, 5, 15, 13)), now)).toBe('Jun 15  2024');
    expect(listDate(now, now)).toBe('Jun 15 12:00');
  });

  it('is parsed back by the clients’ pattern, name with spaces intact, for any entry', () => {
    const name = fc.string({ minLength: 1, unit: 'grapheme' }).filter((n) => !/[\r\n]/.test(n) && n.trim() === n);
    fc.assert(
      fc.property(name, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.date({ min: new Date(0), max: new Date(Date.UTC(2200, 0)), noInvalidDate: true }), (n, size, mtime) => {
        const m = UNIX_LINE.exec(listLine(file(n, size, mtime), now, ALL));
        expect(m).not.toBeNull();
        expect(m![10]).toBe(n);
        expect(Number(m![6])).toBe(size);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a name with inner and edge spaces whole after the single separator', () => {
    const m = UNIX_LINE.exec(listLine(file('  two  spaces  '), now, ALL));
    expect(m![10]).toBe('  two  spaces  ');
  });
});

describe('LIST/NLST arguments', () => {
  it.each([
    ['', [], undefined],
    ['-la', ['l', 'a'], undefined],
    ['-la ', ['l', 'a'], undefined],
    ['-l -a docs', ['l', 'a'], 'docs'],
    ['-aL my dir', ['a', 'L'], 'my dir'],
    ['-1', ['1'], undefined],
    ['docs', [], 'docs'],
    ['./-x', [], './-x'],
    ['-- -x', [], '-x'],
    ['-l -- -la', ['l'], '-la'],
    ['--', [], undefined],
    ['-', [], '-'],
    ['-x-y', [], '-x-y'],
    ['-1.txt', [], '-1.txt'],
    [' -l', [], ' -l'],
  ])('%j -> options %j, path %j', (arg, options, path) => {
    expect(splitListArguments(arg)).toEqual({ options, path });
  });
});

describe('NLST', () => {
  it('gives names usable as arguments: bare in the cwd, prefixed with the folder named', () => {
    expect(nlstLine('a.txt', undefined)).toBe('a.txt');
    expect(nlstLine('a.txt', 'docs')).toBe('docs/a.txt');
    expect(nlstLine('a.txt', 'docs/')).toBe('docs/a.txt');
    expect(nlstLine('a.txt', '/')).toBe('/a.txt');
  });
});

describe('MLST/MLSD', () => {
  it('writes the selected facts, each ending with ;, then one space and the name', () => {
    expect(mlsxLine(file(' a b '), DEFAULT_MLST_FACTS, ALL)).toBe('type=file;size=1234;modify=20240305140709.250;perm=adfrw;  a b ');
    expect(mlsxLine(dir('docs'), DEFAULT_MLST_FACTS, ALL)).toBe('type=dir;modify=20200109000000;perm=cdeflmp; docs');
    expect(mlsxLine(file('x'), ['UNIX.mode', 'size'], READ_ONLY)).toBe('size=1234;UNIX.mode=0444; x');
    expect(mlsxLine(dir('d'), ['UNIX.mode'], ALL)).toBe('UNIX.mode=0755; d');
    expect(mlsxLine(file('x'), [], ALL)).toBe(' x');
  });

  it('gives perm letters for exactly the rights held (RFC 3659 §7.5.5)', () => {
    expect(permFact('file', READ_ONLY)).toBe('r');
    expect(permFact('dir', READ_ONLY)).toBe('el');
    expect(permFact('file', new Set())).toBe('');
    expect(permFact('dir', new Set())).toBe('e');
    expect(permFact('file', new Set(['write']))).toBe('aw');
    expect(permFact('dir', new Set(['mkdir']))).toBe('em');
  });

  it('is read back fact by fact the way basic-ftp and ftplib split a line', () => {
    const line = mlsxLine(file('semi;colon=eq ual.txt', 42), DEFAULT_MLST_FACTS, ALL);
    const space = line.indexOf(' ');
    const facts = Object.fromEntries(
      line
        .slice(0, space)
        .split(';')
        .filter(Boolean)
        .map((f) => f.split('=') as [string, string]),
    );
    expect(line.slice(space + 1)).toBe('semi;colon=eq ual.txt');
    expect(facts).toEqual({ type: 'file', size: '42', modify: '20240305140709.250', perm: 'adfrw' });
  });

  it('selects facts with OPTS MLST, case-insensitively, ignoring unknown ones', () => {
    expect(parseMlstOptions('type;size;')).toEqual(['type', 'size']);
    expect(parseMlstOptions('SIZE;Type;unix.MODE;unique;charset')).toEqual(['type', 'size', 'UNIX.mode']);
    expect(parseMlstOptions('')).toEqual([]);
    expect(mlstOptsReplyText(['type', 'size'])).toBe('MLST OPTS type;size;');
    expect(mlstOptsReplyText([])).toBe('MLST OPTS ');
  });

  it('advertises every fact in FEAT with * on the selected ones', () => {
    expect(mlstFeatureLine(DEFAULT_MLST_FACTS)).toBe('MLST type*;size*;modify*;perm*;UNIX.mode;');
    expect(mlstFeatureLine(['UNIX.mode'])).toBe('MLST type;size;modify;perm;UNIX.mode*;');
  });
});

describe('listingLines', () => {
  it('ends every line with CRLF and leaves out names with CR or LF, reporting each', () => {
    const omitted: string[] = [];
    const entries = [file('ok'), file('evil\r\n-rw-r--r-- 1 ftp ftp 1 Jan 1 2020 forged'), file('lf\nname'), file('cr\rname'), dir('d')];
    const out = [...listingLines(entries, (e) => e.name, (e) => omitted.push(e.name))];
    expect(out).toEqual(['ok\r\n', 'd\r\n']);
    expect(omitted).toEqual([entries[1].name, 'lf\nname', 'cr\rname']);
  });

  it('property: one entry never yields more than one line, whatever its name', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', ' ', '\r', '\n', ';', '=') })), (names) => {
        const entries = names.map((n) => file(n));
        const text = [...listingLines(entries, (e) => mlsxLine(e, DEFAULT_MLST_FACTS, ALL))].join('');
        const lines = text.split('\n').slice(0, -1);
        expect(lines.length).toBeLessThanOrEqual(entries.length);
        for (const l of lines) expect(l.endsWith('\r') && !l.slice(0, -1).includes('\r')).toBe(true);
      }),
    );
  });
});
