import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeMessage, formatJsonLine } from '../../src/logging/json-format';
import { createServerLog } from '../../src/logging/winston-log';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';

const FIELDS = ['time', 'level', 'session', 'remote', 'event', 'file', 'bytes', 'duration'];

describe('describeMessage', () => {
  const C = 'Client-10.0.0.5:40000';
  it.each([
    [C, 'GET: Sent file - a b (1).txt (5 bytes in 2 ms)', { event: 'download', file: 'a b (1).txt', bytes: 5, duration: 2, offset: 0 }],
    [C, 'GET: Sent file - a.txt (3 bytes from offset 2 in 0 ms)', { event: 'download', file: 'a.txt', bytes: 3, offset: 2, duration: 0 }],
    [C, 'PUT: Received file - dir/x - y.bin (7 bytes in 15 ms)', { event: 'upload', file: 'dir/x - y.bin', bytes: 7, duration: 15 }],
    [C, 'PUT: Failed to receive file - big.iso (10 of 100 bytes in 60000 ms: client disconnected)',
      { event: 'upload_failed', file: 'big.iso', bytes: 10, expected_bytes: 100, duration: 60000, reason: 'client disconnected' }],
    [C, 'GET: Failed to send file - v.mp4 (4 of 9 bytes in 3 ms: socket closed)', { event: 'download_failed', file: 'v.mp4', bytes: 4 }],
    [C, 'Command: GET a.txt', { event: 'command', command: 'GET', file: 'a.txt' }],
    [C, 'Command: QUIT', { event: 'command', command: 'QUIT', file: null }],
    [C, 'GET: File not found - nope.txt', { event: 'command_failed', command: 'GET', reason: 'File not found', file: 'nope.txt' }],
    [C, 'RENAME: Renamed - a -> b', { event: 'rename', file: 'a', to: 'b' }],
    [C, 'MKDIR: Created folder - photos', { event: 'mkdir', file: 'photos' }],
    [C, 'LS: Sent 3 files to client', { event: 'list', entries: 3 }],
    [C, 'Invalid command: Unknown command: FROB', { event: 'invalid_command' }],
    ['main', 'New connection from 10.0.0.5:40000. Active connections: 1',
      { event: 'connection_opened', session: C, remote: '10.0.0.5:40000', active: 1 }],
    ['main', 'Connection closed for 10.0.0.5:40000 (client quit). Active connections: 0',
      { event: 'connection_closed', session: C, remote: '10.0.0.5:40000', reason: 'client quit' }],
    ['main', 'Refused connection from 10.0.0.5:40001: Too many connections from your address (429) (3 similar lines suppressed)',
      { event: 'connection_refused', remote: '10.0.0.5:40001', code: 429 }],
    ['main', 'FTP Server listening on 0.0.0.0:5002', { event: 'listening', session: null, remote: null }],
    ['main', 'Something new and unforeseen', { event: 'message', session: null, remote: null }],
  ])('%s: %s', (label, message, expected) => {
    const fields = describeMessage(label, message);
    expect(fields).toMatchObject(expected);
    if (label === C) expect(fields).toMatchObject({ session: C, remote: '10.0.0.5:40000' });
  });

  it('puts every field on every line, null when it does not apply, and escapes what a client chose', () => {
    const line = formatJsonLine({ time: Date.UTC(2024, 10, 17, 14, 30, 22, 145), label: 'main', level: 'warn', message: 'odd\nname\u2028' });
    expect(line).not.toMatch(/\n/);
    const record = JSON.parse(line);
    expect(Object.keys(record).slice(0, FIELDS.length)).toEqual(FIELDS);
    expect(record).toEqual({
      time: '2024-11-17T14:30:22.145Z', level: 'WARNING', session: null, remote: null,
      event: 'message', file: null, bytes: null, duration: null, message: 'odd\nname\u2028',
    });
    const failed = JSON.parse(formatJsonLine({ time: 0, label: 'main', level: 'error', message: 'Session failed', error: new Error('boom') }));
    expect(failed.error).toMatch(/^Error: boom\n {4}at /);
  });
});

describe('--log-format json, end to end', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-json-log-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one parseable object per line carrying the fields', async () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'a.txt'), 'hello');
    const logging = createServerLog({ logDir: path.join(dir, 'logs'), console: false, format: 'json' });
    const server = await FileServer.start({ root, host: '127.0.0.1', port: 0, log: logging.log, limits: { shutdownGraceMs: 2_000 } });
    let local = '';
    try {
      const { conn } = await RawConnection.open(server.port);
      local = `127.0.0.1:${conn.socket.localPort}`;
      await conn.request('GET', { filename: 'a.txt' });
      await conn.bytes(5);
      await conn.frame();
      await conn.request('PUT', { filename: 'b.bin', size: 3 });
      conn.write('xyz');
      await conn.frame();
      await conn.request('GET', { filename: 'evil\n2024-01-01 - [main] - INFO - forged' });
      await conn.request('QUIT');
      await conn.waitClosed();
    } finally {
      await server.close(1_000);
      await logging.close();
    }
    const text = fs.readFileSync(logging.logFile!, 'utf8');
    const lines = text.trimEnd().split('\n');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of records) {
      for (const field of FIELDS) expect(record).toHaveProperty(field);
      expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['INFO', 'WARNING', 'ERROR']).toContain(record.level);
    }
    const session = `Client-${local}`;
    const byEvent = (event: string) => records.filter((r) => r.event === event);
    expect(byEvent('download')).toEqual([
      expect.objectContaining({ level: 'INFO', session, remote: local, file: 'a.txt', bytes: 5, duration: expect.any(Number) }),
    ]);
    expect(byEvent('upload')).toEqual([expect.objectContaining({ session, remote: local, file: 'b.bin', bytes: 3 })]);
    expect(byEvent('connection_opened')).toEqual([expect.objectContaining({ session, remote: local, file: null })]);
    expect(byEvent('connection_closed')).toEqual([expect.objectContaining({ session, reason: 'client quit' })]);
    expect(byEvent('command_failed')).toEqual([
      expect.objectContaining({ level: 'WARNING', command: 'GET', file: 'evil?2024-01-01 - [main] - INFO - forged' }),
    ]);
    expect(byEvent('listening')).toEqual([]); // the CLI logs that line, not the library
    expect(byEvent('stopped')).toHaveLength(1);
  });
});
