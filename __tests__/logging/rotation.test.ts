/**
 * The main log's rotation and retention, through a real winston logger into
 * a temp folder: a new part past the size limit, a new file each local day,
 * at most `maxFiles` files kept, and the rotator's audit file where we put it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUDIT_FILE_NAME, createServerLog, LOG_FILE_SETTINGS, type ServerLog } from '../../src/logging/winston-log';

/** `ftp_server_<date>.log` or `ftp_server_<date>.<part>.log`. */
const LOG_NAME = /^ftp_server_(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.log$/;

let dir: string;
const opened: ServerLog[] = [];

beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'log-rotation-'));
});

afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await fs.promises.rm(dir, { recursive: true, force: true });
});

function open(opts: Parameters<typeof createServerLog>[0]): ServerLog {
  const s = createServerLog(opts);
  opened.push(s);
  return s;
}

/** Log files in the folder, oldest part first. */
function logFiles(): string[] {
  const part = (name: string) => Number(LOG_NAME.exec(name)![2] ?? 0);
  return fs
    .readdirSync(dir)
    .filter((name) => LOG_NAME.test(name))
    .sort((a, b) => LOG_NAME.exec(a)![1].localeCompare(LOG_NAME.exec(b)![1]) || part(a) - part(b));
}

/** Basenames of the files the rotator's audit file says it keeps. */
function audited(): string[] {
  const audit = JSON.parse(fs.readFileSync(path.join(dir, AUDIT_FILE_NAME), 'utf8')) as { files: Array<{ name: string }> };
  return audit.files.map((f) => path.basename(f.name)).sort();
}

/** Poll until `check` holds (real timers), at most 5 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

it('keeps the defaults: 10 MB parts, 14 files', () => {
  expect(LOG_FILE_SETTINGS).toMatchObject({ maxSize: '10m', maxFiles: 14, datePattern: 'YYYY-MM-DD' });
});

it('starts a new part past the size limit, keeps only the newest files, and loses no line of them', async () => {
  const s = open({ logDir: dir, console: false, rotation: { maxSize: '1k', maxFiles: 3 } });
  const padding = 'x'.repeat(80);
  const total = 300;
  const text = (i: number) => `line ${String(i).padStart(4, '0')} ${padding}`;
  for (let i = 0; i < total; i++) {
    s.log.info(text(i));
    // Paced by batches, as real traffic is: the rotator opens each part
    // asynchronously, and a part removed before its open completed would be
    // created again by that open. In one burst of 1 KiB parts that happens
    // (38 of 38 parts stayed); with 10 MB parts it cannot.
    if (i % 10 === 9) await until(() => s.logFile !== undefined && fs.existsSync(s.logFile) && read(path.basename(s.logFile)).includes(text(i)));
  }
  await s.close();

  const kept = logFiles();
  expect(kept).toHaveLength(3);
  // Only log files and our audit file: no hash-named audit file, nothing else.
  expect(fs.readdirSync(dir).sort()).toEqual([AUDIT_FILE_NAME, ...kept].sort());
  expect(audited()).toEqual([...kept].sort());
  // ~30 KB in 1 KiB parts: the kept three are the last parts, the earlier ones were removed.
  const parts = kept.map((name) => Number(LOG_NAME.exec(name)![2] ?? 0));
  expect(parts[0]).toBeGreaterThanOrEqual(20);
  expect(parts).toEqual([parts[0], parts[0] + 1, parts[0] + 2]);
  expect(s.logFile).toBe(path.join(dir, kept[2]));

  // The kept parts hold one unbroken run of lines, ending with the last one written.
  const numbers = kept
    .flatMap((name) => read(name).trimEnd().split('\n'))
    .map((line) => Number(/ - INFO - line (\d{4}) x+$/.exec(line)![1]));
  expect(numbers[numbers.length - 1]).toBe(total - 1);
  expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => numbers[0] + i));
  // Every full part ended at the first line past 1 KiB (the check runs before each write).
  const lineBytes = Buffer.byteLength(read(kept[2]).split('\n')[0]) + 1;
  for (const name of kept.slice(0, 2)) {
    const size = fs.statSync(path.join(dir, name)).size;
    expect(size).toBeGreaterThan(1024);
    expect(size).toBeLessThanOrEqual(1024 + lineBytes);
  }
});

it('opens a new file each local day and counts day files toward the limit', async () => {
  // Only Date is faked: the streams underneath need real ticks.
  jest.useFakeTimers({
    now: new Date(2030, 0, 5, 23, 59, 58),
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
  const s = open({ logDir: dir, console: false, rotation: { maxFiles: 2 } });
  s.log.info('on the 5th');
  await until(() => logFiles().includes('ftp_server_2030-01-05.log') && read('ftp_server_2030-01-05.log').includes('on the 5th'));

  jest.setSystemTime(new Date(2030, 0, 6, 0, 0, 1));
  s.log.info('on the 6th');
  await until(() => logFiles().includes('ftp_server_2030-01-06.log') && read('ftp_server_2030-01-06.log').includes('on the 6th'));
  expect(logFiles()).toEqual(['ftp_server_2030-01-05.log', 'ftp_server_2030-01-06.log']);

  jest.setSystemTime(new Date(2030, 0, 7, 12, 0, 0));
  s.log.info('on the 7th');
  await s.close();

  // The third day's file pushed out the first: two files kept, each day's line in its own.
  expect(logFiles()).toEqual(['ftp_server_2030-01-06.log', 'ftp_server_2030-01-07.log']);
  expect(read('ftp_server_2030-01-06.log')).toMatch(/ - \[main\] - INFO - on the 6th\n$/);
  expect(read('ftp_server_2030-01-07.log')).toMatch(/ - \[main\] - INFO - on the 7th\n$/);
  expect(s.logFile).toBe(path.join(dir, 'ftp_server_2030-01-07.log'));
  expect(audited()).toEqual(['ftp_server_2030-01-06.log', 'ftp_server_2030-01-07.log']);
});
