import fc from 'fast-check';
import {
  formatFeatReply,
  formatHelpForVerb,
  formatHelpReply,
  formatReply,
  quotePath257,
  unquotePath257,
} from '../../src/ftp/replies';

/**
 * Read replies the way clients do (RFC 959 §4.2; basic-ftp, ftplib): lines
 * end at LF (CR before it dropped); `CODE-` opens a reply that ends at the
 * first line starting with the same `CODE `.
 */
function readReplies(wire: string): { code: number; lines: string[] }[] {
  const lines = wire.split('\n');
  expect(lines.pop()).toBe(''); // the wire ends with a line end
  const replies: { code: number; lines: string[] }[] = [];
  let open: { code: number; lines: string[] } | undefined;
  for (const raw of lines) {
    expect(raw.endsWith('\r')).toBe(true);
    const line = raw.slice(0, -1);
    if (open) {
      open.lines.push(line);
      if (line.startsWith(`${open.code} `)) {
        replies.push(open);
        open = undefined;
      }
      continue;
    }
    const match = /^(\d{3})([ -])/.exec(line);
    if (!match) throw new Error(`not a reply line: ${JSON.stringify(line)}`);
    const entry = { code: Number(match[1]), lines: [line] };
    if (match[2] === ' ') replies.push(entry);
    else open = entry;
  }
  expect(open).toBeUndefined();
  return replies;
}

describe('formatReply', () => {
  it('formats a single line', () => {
    expect(formatReply(200, 'Command okay.')).toBe('200 Command okay.\r\n');
    expect(formatReply(226, '')).toBe('226 \r\n');
  });

  it('formats several lines as CODE-first ... CODE last', () => {
    expect(formatReply(211, ['Status:', 'Logged in', 'End'])).toBe('211-Status:\r\nLogged in\r\n211 End\r\n');
  });

  it('indents middle lines that start with a digit, so they cannot end the reply', () => {
    const wire = formatReply(211, ['Status', '211 looks like an end', '550 or another reply', 'End']);
    expect(wire).toBe('211-Status\r\n 211 looks like an end\r\n 550 or another reply\r\n211 End\r\n');
    expect(readReplies(wire)).toHaveLength(1);
  });

  it('splits text at LF and CR LF into reply lines instead of ending the reply', () => {
    const wire = formatReply(550, 'No such file: evil\r\n226 Transfer complete\nx');
    expect(wire).toBe('550-No such file: evil\r\n 226 Transfer complete\r\n550 x\r\n');
    const replies = readReplies(wire);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.code).toBe(550);
  });

  it('sends a CR inside a line as CR NUL (RFC 2640 §3.1)', () => {
    expect(formatReply(257, `${quotePath257('/a\rb')} created`)).toBe('257 "/a\r\0b" created\r\n');
  });

  it('refuses codes that are not three-digit reply codes', () => {
    for (const code of [0, 99, 600, 2000, 250.5, NaN]) expect(() => formatReply(code, 'x')).toThrow(RangeError);
  });

  it('property: any text gives exactly one reply with the given code, whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', ' ', '\r', '\n', '2', '0', '-', '\0', 'é') }), {
          minLength: 1,
          maxLength: 5,
        }),
        (code, texts) => {
          const replies = readReplies(formatReply(code, texts));
          expect(replies).toHaveLength(1);
          expect(replies[0]?.code).toBe(code);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('quotePath257', () => {
  it.each([
    ['/', '"/"'],
    ['/a b', '"/a b"'],
    ['/say "hi"', '"/say ""hi"""'],
    ['/"', '"/"""'],
    ['""', '""""""'],
  ])('%j -> %s', (path, quoted) => {
    expect(quotePath257(path)).toBe(quoted);
    expect(unquotePath257(`${quoted} is the current directory`)).toBe(path);
  });

  it('property: quoting then unquoting gives the path back', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '"', ' ', '/') }), (path) => {
        expect(unquotePath257(`${quotePath257(path)} created`)).toBe(path);
      }),
    );
  });
});

describe('FEAT and HELP', () => {
  it('builds FEAT with one leading space per feature (RFC 2389)', () => {
    expect(formatFeatReply(['UTF8', 'EPSV', 'MLST type*;size*;modify*;'])).toBe(
      '211-Features:\r\n UTF8\r\n EPSV\r\n MLST type*;size*;modify*;\r\n211 End\r\n',
    );
    expect(formatFeatReply([])).toBe('211 No features\r\n');
  });

  it('refuses an empty feature or one holding a line end (a bug in the table, not input)', () => {
    expect(() => formatFeatReply([''])).toThrow(RangeError);
    expect(() => formatFeatReply(['SIZE\r\n211 End'])).toThrow(RangeError);
  });

  it('lists verbs in indented rows inside one 214 reply', () => {
    const verbs = ['USER', 'PASS', 'QUIT', 'RETR', 'STOR', 'LIST', 'NLST', 'CWD', 'PWD', 'MKD'];
    const wire = formatHelpReply(verbs);
    const replies = readReplies(wire);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.code).toBe(214);
    const middle = replies[0].lines.slice(1, -1);
    expect(middle.every((row) => row.startsWith(' '))).toBe(true);
    expect(middle.join(' ').split(/\s+/).filter(Boolean).sort()).toEqual([...verbs].sort());
  });

  it('answers HELP for one verb with its syntax, or 502 without echoing the word', () => {
    expect(formatHelpForVerb('RETR <sp> pathname')).toBe('214 Syntax: RETR <sp> pathname\r\n');
    expect(formatHelpForVerb(undefined)).toBe('502 Unknown command.\r\n');
  });
});
