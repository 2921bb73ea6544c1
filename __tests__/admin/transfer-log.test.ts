import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { combineObservers } from '../../src/admin/observers';
import {
  formatTransferLine,
  parseTransferLine,
  TRANSFER_LOG_HEADER,
  TransferLog,
} from '../../src/logging/transfer-log';
import { FileServer } from '../../src/server/file-server';
import type { TransferRecord } from '../../src/core/observer';
import { RawConnection } from '../helpers/raw-connection';
import { waitFor } from './admin-helpers';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-transfer-log-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const record = (over: Partial<TransferRecord> = {}): TransferRecord => ({
  direction: 'upload', filename: 'a.bin', bytes: 7, expectedBytes: 7, durationMs: 12, ok: true, remote: '10.0.0.5:40000', protocol: 'native', ...over,
});
const NOON = Date.UTC(2024, 10, 17, 12, 0, 0, 5);

describe('the line', () => {
  it('has eleven tab-separated columns in a fixed order (protocol added last)', () => {
    expect(TRANSFER_LOG_HEADER).toBe('time\tremote\tuser\tdirection\tresult\tbytes\texpected_bytes\tduration_ms\tfile\terror\tprotocol');
    expect(formatTransferLine(record({ user: 'alice' }), NOON)).toBe(
      '2024-11-17T12:00:00.005Z\t10.0.0.5:40000\talice\tupload\tok\t7\t7\t12\ta.bin\t-\tnative',
    );
    expect(formatTransferLine(record({ ok: false, bytes: 3, error: 'client disconnected', direction: 'download' }), NOON)).toBe(
      '2024-11-17T12:00:00.005Z\t10.0.0.5:40000\t-\tdownload\tfailed\t3\t7\t12\ta.bin\tclient disconnected\tnative',
    );
  });

  it.each(['tab\there', 'line\nbreak\r', 'back\\slash', '-', 'esc\x1b[2J', 'sep\u2028', 'ünï €'])(
    'escapes %j so the line keeps eleven fields, and parses back',
    (filename) => {
      const line = formatTransferLine(record({ filename }), NOON);
      expect(line).not.toMatch(/[\n\r\u2028]/);
      expect(line.split('\t')).toHaveLength(11);
      expect(parseTransferLine(line)).toMatchObject({ file: filename, user: undefined, error: undefined, bytes: '7' });
    },
  );

  it('reads the header as no entry', () => {
    expect(parseTransferLine(TRANSFER_LOG_HEADER)).toBeUndefined();
  });

  it('records the port a transfer came through, and reads a line from before the protocol column as native', () => {
    expect(formatTransferLine(record({ protocol: 'ftp' }), NOON).split('\t').at(-1)).toBe('ftp');
    expect(parseTransferLine(formatTransferLine(record({ protocol: 'ftp' }), NOON))).toMatchObject({ protocol: 'ftp', file: 'a.bin' });
    const legacy = '2024-11-17T12:00:00.005Z\t10.0.0.5:40000\t-\tupload\tok\t7\t7\t12\ta.bin\t-';
    expect(parseTransferLine(legacy)).toMatchObject({ protocol: 'native', file: 'a.bin', error: undefined });
    expect(parseTransferLine('time\tremote\tuser\tdirection\tresult\tbytes\texpected_bytes\tduration_ms\tfile\terror')).toBeUndefined();
  });
});

describe('TransferLog', () => {
  const lines = (file: string) => fs.readFileSync(file, 'utf8').trimEnd().split('\n');

  it('rotates a file begun under the ten columns of an older release away at startup', async () => {
    const file = path.join(dir, 'transfers.log');
    const old = 'time\tremote\tuser\tdirection\tresult\tbytes\texpected_bytes\tduration_ms\tfile\terror\n' +
      '2024-11-17T12:00:00.005Z\t10.0.0.5:40000\t-\tupload\tok\t7\t7\t12\ta.bin\t-\n';
    fs.writeFileSync(file, old);
    const log = TransferLog.open({ file, now: () => NOON });
    log.transfer(record({ protocol: 'ftp' }));
    await log.close();
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe(old);
    expect(lines(file)).toEqual([TRANSFER_LOG_HEADER, formatTransferLine(record({ protocol: 'ftp' }), NOON)]);
  });

  it('logs every finished and failed transfer of a real server', async () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'a.txt'), 'hello');
    const file = path.join(dir, 'logs', 'transfers.log');
    const log = TransferLog.open({ file });
    let seen = 0;
    const server = await FileServer.start({
      root, host: '127.0.0.1', port: 0,
      observer: combineObservers([log, { transfer: () => (seen += 1) }]),
      limits: { shutdownGraceMs: 2_000 },
    });
    try {
      const { conn } = await RawConnection.open(server.port);
      await conn.request('GET', { filename: 'a.txt' });
      await conn.bytes(5);
      await conn.frame();
      await conn.request('PUT', { filename: 'b.bin', size: 7 });
      conn.write('1234567');
      expect((await conn.frame()).code).toBe(226);
      await conn.request('PUT', { filename: 'c.bin', size: 3, sha256: '0'.repeat(64) });
      conn.write('abc');
      expect((await conn.frame()).code).toBe(422);
      await conn.request('PUT', { filename: 'cut.bin', size: 100 });
      conn.write('0123456789');
      conn.socket.end(); // mid-payload: a clean FIN, so the 10 bytes arrive first
      await waitFor(() => (seen === 4 ? true : undefined));
    } finally {
      await server.close(1_000);
      await log.close();
    }
    const written = lines(file);
    expect(written[0]).toBe(TRANSFER_LOG_HEADER);
    const entries = written.slice(1).map((l) => parseTransferLine(l)!);
    expect(entries.map((e) => [e.direction, e.result, e.file, e.bytes, e.expected_bytes])).toEqual([
      ['download', 'ok', 'a.txt', '5', '5'],
      ['upload', 'ok', 'b.bin', '7', '7'],
      ['upload', 'failed', 'c.bin', '3', '3'],
      ['upload', 'failed', 'cut.bin', '10', '100'],
    ]);
    expect(entries[2].error).toBe('Checksum mismatch: upload discarded');
    expect(entries[3].error).toBeDefined();
    for (const e of entries) {
      expect(e.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(Number(e.duration_ms)).toBeGreaterThanOrEqual(0);
      expect(Date.parse(e.time!)).not.toBeNaN();
    }
    // What the docs' awk recipe computes: bytes uploaded successfully.
    const uploaded = entries.filter((e) => e.direction === 'upload' && e.result === 'ok').reduce((s, e) => s + Number(e.bytes), 0);
    expect(uploaded).toBe(7);
  });

  it('appends across restarts with one header', async () => {
    const file = path.join(dir, 'transfers.log');
    for (const name of ['first', 'second']) {
      const log = TransferLog.open({ file, now: () => NOON });
      log.transfer(record({ filename: name }));
      await log.close();
    }
    expect(lines(file)).toEqual([
      TRANSFER_LOG_HEADER,
      formatTransferLine(record({ filename: 'first' }), NOON),
      formatTransferLine(record({ filename: 'second' }), NOON),
    ]);
  });

  it('rotates past maxBytes and keeps maxFiles files, losing no line in between', async () => {
    const file = path.join(dir, 'transfers.log');
    const lineBytes = formatTransferLine(record({ filename: 'f00' }), NOON).length + 1;
    const maxBytes = TRANSFER_LOG_HEADER.length + 1 + 3 * lineBytes; // header + 3 lines per file
    const log = TransferLog.open({ file, maxBytes, maxFiles: 3, now: () => NOON });
    for (let i = 1; i <= 20; i += 1) log.transfer(record({ filename: `f${String(i).padStart(2, '0')}` }));
    await log.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['transfers.log', 'transfers.log.1', 'transfers.log.2']);
    const kept = [`${file}.2`, `${file}.1`, file].flatMap((f) => {
      const content = lines(f);
      expect(content[0]).toBe(TRANSFER_LOG_HEADER);
      expect(fs.statSync(f).size).toBeLessThanOrEqual(maxBytes);
      return content.slice(1).map((l) => parseTransferLine(l)!.file);
    });
    // The newest records, oldest first and without a gap: 20 records, 3 per file.
    expect(kept).toEqual(['f13', 'f14', 'f15', 'f16', 'f17', 'f18', 'f19', 'f20']);
  });

  it('refuses to open a path it cannot write, at start', () => {
    // A folder where the file should be: better to fail at start than to lose the log silently.
    expect(() => TransferLog.open({ file: dir })).toThrow(/EISDIR/);
  });

  const diskFull = fs.existsSync('/dev/full') ? it : it.skip;
  diskFull('reports a failing write (disk full) once and keeps serving', async () => {
    const errors: Error[] = [];
    // Every write to /dev/full fails with ENOSPC.
    const log = TransferLog.open({ file: '/dev/full', onError: (e) => errors.push(e) });
    log.transfer(record());
    log.transfer(record());
    await waitFor(() => (errors.length > 0 ? true : undefined));
    log.transfer(record());
    await log.close();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });
});
