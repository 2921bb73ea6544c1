/**
 * Issue 10, finding 8: 130 KB of invalid frames grew the log by 1 MB. Now a
 * connection is closed after its 100th invalid frame (each answered 400,
 * the 101st never), and the warnings they cause are throttled per session,
 * with the count of what was held back written when the session ends.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_INVALID_FRAMES } from '../../src/config/defaults';
import { MemoryLog } from '../../src/logging/log';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { FileServer } from '../../src/server/file-server';
import { FakeClock } from '../../src/util/clock';
import { PullConnection } from '../helpers/pull-connection';
import { spawnServer, type ServerProcess } from '../helpers/server-process';

jest.setTimeout(120_000);

const frameOf = (body: Buffer) => {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
};

/** Every kind of frame that is not a command, smallest first: the attacker's cheapest bytes. */
const INVALID_BODIES = [
  Buffer.from('[]'),
  Buffer.from([0xff, 0xfe]),
  Buffer.from('{x'),
  Buffer.from('{}'),
  Buffer.from('{"type":"command"}'),
  Buffer.from('{"type":"command","command":"FROB"}'),
];
const invalidFrames = (count: number) => Buffer.concat(Array.from({ length: count }, (_, i) => frameOf(INVALID_BODIES[i % INVALID_BODIES.length])));
/** The cheapest invalid frame: a 4-byte prefix and `[]`. */
const CHEAPEST = frameOf(Buffer.from('[]'));

describe('in one process', () => {
  let base: string;
  let server: FileServer;
  let log: MemoryLog;
  let clock: FakeClock;
  const open: PullConnection[] = [];

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-invalid-'));
    await fs.writeFile(path.join(base, 'a.txt'), 'hello');
    log = new MemoryLog();
    clock = new FakeClock();
    server = await FileServer.start({ root: base, host: '127.0.0.1', port: 0, log, clock, limits: { shutdownGraceMs: 1_000 } });
  });

  afterEach(async () => {
    for (const conn of open.splice(0)) conn.close();
    await server.close(500);
    await fs.rm(base, { recursive: true, force: true });
  });

  async function connect(): Promise<PullConnection> {
    const { conn, greeting } = await PullConnection.open(server.port);
    open.push(conn);
    expect(greeting).toMatchObject({ code: 200 });
    return conn;
  }

  const sessionLines = () => log.lines.filter((l) => l.label.startsWith('Client-'));

  it('answers the first 100 invalid frames with 400, never the 101st, then closes', async () => {
    const conn = await connect();
    // 101 invalid frames of every kind, then a good command that must never run.
    conn.write(Buffer.concat([invalidFrames(MAX_INVALID_FRAMES + 1), encodeFrame({ type: 'command', command: 'DELETE', filename: 'a.txt' })]));
    for (let i = 0; i < MAX_INVALID_FRAMES; i++) {
      expect(await conn.frame()).toMatchObject({ type: 'response', code: 400 });
    }
    await expect(conn.frame(5_000)).rejects.toThrow('connection closed by the server');
    expect(await fs.readFile(path.join(base, 'a.txt'), 'utf8')).toBe('hello');
    expect(sessionLines().map((l) => `${l.level} ${l.message}`)).toEqual([
      'WARNING Invalid command: Frame is not a JSON object',
      `WARNING Closing connection: 100 invalid frames (99 similar lines suppressed)`,
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(log.lines.filter((l) => l.message.startsWith('Connection closed for'))).toEqual([
      expect.objectContaining({ message: expect.stringContaining('(too many invalid frames)') }),
    ]);
  });

  it('stays bounded however many invalid frames are pipelined without reading', async () => {
    const conn = await connect();
    conn.write(invalidFrames(20_000));
    let answers = 0;
    try {
      for (;;) {
        expect(await conn.frame()).toMatchObject({ code: 400 });
        answers += 1;
      }
    } catch (err) {
      expect(String(err)).toMatch(/connection closed by the server/);
    }
    expect(answers).toBe(MAX_INVALID_FRAMES);
    expect(sessionLines().length).toBe(2);
  });

  it('writes one warning per interval per session, then the count it held back', async () => {
    const conn = await connect();
    conn.write(invalidFrames(10));
    for (let i = 0; i < 10; i++) await conn.frame();
    clock.advance(10_000);
    conn.write(CHEAPEST);
    await conn.frame();
    conn.write(invalidFrames(4));
    for (let i = 0; i < 4; i++) await conn.frame();
    // Commands in between are served as usual and logged as usual.
    expect(await conn.request('STAT', { filename: 'a.txt' })).toMatchObject({ code: 200 });
    expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
    await conn.waitClosed();
    await new Promise((r) => setTimeout(r, 100));
    expect(sessionLines().map((l) => l.message)).toEqual([
      'Invalid command: Frame is not a JSON object',
      'Invalid command: Frame is not a JSON object (9 similar lines suppressed)',
      'Command: STAT a.txt',
      'Command: QUIT',
      expect.stringMatching(/^Client 127\.0\.0\.1:\d+ requested disconnect$/),
      'Invalid command: 4 similar lines suppressed',
    ]);
  });

  it('counts invalid frames per connection, not per client: a fresh connection starts at zero', async () => {
    const first = await connect();
    first.write(invalidFrames(MAX_INVALID_FRAMES - 1));
    for (let i = 0; i < MAX_INVALID_FRAMES - 1; i++) await first.frame();
    expect(await first.request('STAT', { filename: 'a.txt' })).toMatchObject({ code: 200 });
    const second = await connect();
    second.write(invalidFrames(MAX_INVALID_FRAMES - 1));
    for (let i = 0; i < MAX_INVALID_FRAMES - 1; i++) await second.frame();
    expect(await second.request('STAT', { filename: 'a.txt' })).toMatchObject({ code: 200 });
    // The hundredth closes only the connection that sent it.
    first.write(CHEAPEST);
    expect(await first.frame()).toMatchObject({ code: 400 });
    await first.waitClosed();
    expect(await second.request('STAT', { filename: 'a.txt' })).toMatchObject({ code: 200 });
  });
});

describe('the real server and its log file', () => {
  let base: string;
  let server: ServerProcess | undefined;

  afterEach(async () => {
    try {
      await server?.stop();
    } finally {
      server = undefined;
      await fs.rm(base, { recursive: true, force: true });
    }
  });

  async function logBytes(dir: string): Promise<number> {
    let total = 0;
    for (const name of await fs.readdir(dir)) {
      if (name.endsWith('.log')) total += (await fs.stat(path.join(dir, name))).size;
    }
    return total;
  }

  it('grows the log by less than the bytes of an invalid-frame flood over many connections', async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-invalid-log-'));
    const root = path.join(base, 'root');
    const logs = path.join(base, 'logs');
    await fs.mkdir(root);
    server = await spawnServer(['--host', '127.0.0.1', '--port', '0', '--root', root, '--log-dir', logs, '--rate-limit', '0'], base);
    const s = server;
    // The cheapest frames an attacker can send, 150 per connection, 40 connections.
    const perConnection = Buffer.concat(Array.from({ length: 150 }, () => CHEAPEST));
    const connections = 40;
    const before = await logBytes(logs);
    for (let i = 0; i < connections; i++) {
      const { conn } = await PullConnection.open(s.port);
      conn.write(perConnection);
      await conn.waitClosed(10_000);
    }
    await s.waitForOutput(/too many invalid frames/, 10_000);
    // The server flushes its log when it stops: then the file holds every line.
    expect(await s.stop()).toBe(0);
    const sent = connections * perConnection.length;
    const grown = (await logBytes(logs)) - before;
    const closes = s.output().split('(too many invalid frames)').length - 1;
    expect(closes).toBe(connections);
    console.log(`invalid-frame flood: ${sent} bytes sent, log grew by ${grown} bytes (${(grown / sent).toFixed(2)} per byte)`);
    expect(grown).toBeGreaterThan(0);
    // Unthrottled, each 6-byte frame wrote a line of about 110 bytes: 18 bytes of log per byte.
    expect(grown).toBeLessThan(sent);
  });
});
