import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../src/util/clock';
import { escapeControl, formatLine, formatTimestamp, levelName } from '../../src/logging/format';
import { AUDIT_FILE_NAME, createServerLog, type ServerLog } from '../../src/logging/winston-log';

/** One record header of the format. */
const HEADER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - \[[^\]\n]+\] - (DEBUG|INFO|WARNING|ERROR) - .*$/;

/** A local-time instant, so expectations hold in any time zone. */
const LOCAL_1430 = new Date(2024, 10, 17, 14, 30, 22, 145).getTime();

let dir: string;
const opened: ServerLog[] = [];

beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'winston-log-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  jest.restoreAllMocks();
  await fs.promises.rm(dir, { recursive: true, force: true });
});

function open(opts: Parameters<typeof createServerLog>[0]): ServerLog {
  const s = createServerLog(opts);
  opened.push(s);
  return s;
}

function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

describe('format', () => {
  it('renders local time with a comma before the milliseconds', () => {
    expect(formatTimestamp(LOCAL_1430)).toBe('2024-11-17 14:30:22,145');
    expect(formatTimestamp(new Date(2024, 0, 2, 3, 4, 5, 6).getTime())).toBe('2024-01-02 03:04:05,006');
  });

  it('spells the levels of the format', () => {
    expect(['debug', 'info', 'warn', 'error'].map(levelName)).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR']);
  });

  it('builds the exact line', () => {
    const line = formatLine({
      time: LOCAL_1430,
      label: 'Client-192.168.1.100:52431',
      level: 'info',
      message: 'GET: Sent file - a.txt',
    });
    expect(line).toBe('2024-11-17 14:30:22,145 - [Client-192.168.1.100:52431] - INFO - GET: Sent file - a.txt');
  });

  it('escapes line breaks and terminal escapes so a name cannot forge a record', () => {
    const forged = 'a.txt\n2024-11-17 14:30:22,145 - [main] - INFO - fake\r\x1b[2J\u2028';
    const line = formatLine({ time: LOCAL_1430, label: 'main', level: 'warn', message: forged });
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('a.txt\\n2024-11-17');
    expect(line).toContain('\\r\\x1b[2J\\u2028');
    expect(escapeControl('tab\tstays')).toBe('tab\tstays');
  });

  it('puts an error on indented lines after the record, newline-forgery included', () => {
    const err = Object.assign(new Error('boom\n2024-11-17 14:30:22,145 - [main] - INFO - fake'), { code: 'EBOOM' });
    const [head, ...rest] = formatLine({ time: LOCAL_1430, label: 'main', level: 'error', message: 'x', error: err }).split(
      '\n',
    );
    expect(head).toBe('2024-11-17 14:30:22,145 - [main] - ERROR - x');
    expect(rest.length).toBeGreaterThan(2);
    for (const line of rest) expect(line).toMatch(/^[ \t]/);
    expect(rest[0]).toBe('    Error: boom');
    expect(rest.some((l) => /^\s+at /.test(l))).toBe(true);
    expect(rest.join('\n')).toContain("code: 'EBOOM'");
  });

  it('colours only the level word when asked', () => {
    const parts = { time: LOCAL_1430, label: 'main', level: 'warn', message: 'm' };
    expect(formatLine(parts, true)).toBe('2024-11-17 14:30:22,145 - [main] - \x1b[33mWARNING\x1b[0m - m');
  });
});

describe('createServerLog with a log folder', () => {
  it('writes the exact format, labels and levels to the current file', async () => {
    const clock = new FakeClock(LOCAL_1430);
    const logDir = path.join(dir, 'nested', 'logs'); // created on demand
    const s = open({ logDir, console: false, clockForTests: clock });
    expect(s.logFile).toBeDefined();
    const logFile = s.logFile as string;
    expect(path.dirname(logFile)).toBe(logDir);
    expect(path.basename(logFile)).toMatch(/^ftp_server_\d{4}-\d{2}-\d{2}\.log$/);

    s.log.info('Server started');
    const client = s.log.child('Client-192.168.1.100:52431');
    clock.advance(1);
    client.info('GET: Sent file - a.txt');
    client.warn('Slow client');
    client.error('Transfer failed', new Error('disk on fire'));
    await s.close();

    const lines = readLines(logFile);
    expect(lines.slice(0, 4)).toEqual([
      '2024-11-17 14:30:22,145 - [main] - INFO - Server started',
      '2024-11-17 14:30:22,146 - [Client-192.168.1.100:52431] - INFO - GET: Sent file - a.txt',
      '2024-11-17 14:30:22,146 - [Client-192.168.1.100:52431] - WARNING - Slow client',
      '2024-11-17 14:30:22,146 - [Client-192.168.1.100:52431] - ERROR - Transfer failed',
    ]);
    expect(lines[4]).toBe('    Error: disk on fire');
    expect(lines.slice(5).every((l) => /^\s+at /.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('WARN -'))).toBe(false);

    // The audit file has our name, not a hash-named one.
    const names = fs.readdirSync(logDir).sort();
    expect(names).toEqual([AUDIT_FILE_NAME, path.basename(logFile)].sort());
  });

  it('has every one of 5,000 lines in the file once close() resolves', async () => {
    const s = open({ logDir: dir, console: false });
    const children = Array.from({ length: 50 }, (_, i) => s.log.child(`Client-127.0.0.1:${40000 + i}`));
    for (let i = 0; i < 5000; i++) children[i % 50].info(`line ${i}`);
    await s.close();

    const lines = readLines(s.logFile as string);
    expect(lines).toHaveLength(5000);
    lines.forEach((line, i) => {
      expect(line).toMatch(HEADER);
      expect(line.endsWith(` - [Client-127.0.0.1:${40000 + (i % 50)}] - INFO - line ${i}`)).toBe(true);
    });
  });

  it('drops lines below the level and after close()', async () => {
    const s = open({ logDir: dir, console: false, level: 'warn' });
    s.log.info('hidden');
    s.log.warn('shown');
    await s.close();
    s.log.error('too late');
    await s.close(); // idempotent
    const lines = readLines(s.logFile as string);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ - \[main\] - WARNING - shown$/);
  });

  it('appends to the same file across restarts on one day', async () => {
    const first = open({ logDir: dir, console: false });
    first.log.info('one');
    await first.close();
    const second = open({ logDir: dir, console: false });
    expect(second.logFile).toBe(first.logFile);
    second.log.info('two');
    await second.close();
    expect(readLines(second.logFile as string).map((l) => l.split(' - ').pop())).toEqual(['one', 'two']);
  });

  it('rejects an unknown level', () => {
    expect(() => createServerLog({ console: false, level: 'loud' as never })).toThrow(RangeError);
  });
});

describe('createServerLog console output', () => {
  function captureStdout(): string[] {
    const chunks: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    return chunks;
  }

  it('writes the same line to stdout, uncoloured when stdout is not a terminal', async () => {
    const chunks = captureStdout();
    const s = open({ console: true, clockForTests: new FakeClock(LOCAL_1430) });
    expect(s.logFile).toBeUndefined();
    s.log.child('Client-127.0.0.1:52431').warn('Too many connections');
    await s.close();
    const out = chunks.join('');
    if (!process.stdout.isTTY) expect(out).not.toContain('\x1b[');
    expect(out.replace(/\x1b\[\d+m/g, '')).toBe(
      '2024-11-17 14:30:22,145 - [Client-127.0.0.1:52431] - WARNING - Too many connections\n',
    );
  });

  it('writes nothing to stdout with console: false', async () => {
    const chunks = captureStdout();
    const s = open({ logDir: dir, console: false });
    s.log.info('file only');
    s.log.error('file only too', new Error('x'));
    await s.close();
    expect(chunks).toEqual([]);
    expect(readLines(s.logFile as string)[0]).toMatch(/ - INFO - file only$/);
  });
});
