/**
 * Issue 10, finding 1, inside one process: a client that pipelines commands
 * and does not read makes the session stop decoding commands once its unsent
 * answers pass MAX_UNSENT_REPLY_BYTES; it resumes when they drain, answers
 * everything in order, and its timers neither cut a client that is reading
 * slowly nor keep one that reads nothing. A fake clock drives the timers.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_UNSENT_REPLY_BYTES, type ServerLimits } from '../../src/config/defaults';
import { MemoryLog } from '../../src/logging/log';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { FileServer } from '../../src/server/file-server';
import { FakeClock } from '../../src/util/clock';
import { PullConnection } from '../helpers/pull-connection';

jest.setTimeout(120_000);

const SMALL_BYTES = 64 * 1024;
/** A GET answer of the small file: header, payload, trailer (the frames are well under 1 KiB). */
const LARGEST_ANSWER = SMALL_BYTES + 1024;

let base: string;
let server: FileServer;
let log: MemoryLog;
let clock: FakeClock;
let commandsRun: number;
let content: Buffer;
const open: PullConnection[] = [];

async function start(limits: Partial<ServerLimits> = {}): Promise<void> {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-backpressure-'));
  content = randomBytes(SMALL_BYTES);
  await fs.writeFile(path.join(base, 'small.bin'), content);
  log = new MemoryLog();
  clock = new FakeClock();
  commandsRun = 0;
  server = await FileServer.start({
    root: base,
    host: '127.0.0.1',
    port: 0,
    log,
    clock,
    limits: { shutdownGraceMs: 1_000, ...limits },
    observer: { command: () => (commandsRun += 1) },
  });
}

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

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms: ${what}`);
    await pause(10);
  }
}

const unsent = () => server.unsentBytesPerSession[0] ?? 0;

/** Pipeline `count` GETs of the small file, at offsets 0, 1, 2... so that the answers show their order. */
function pipelineGets(conn: PullConnection, count: number, first = 0): void {
  conn.write(Buffer.concat(Array.from({ length: count }, (_, i) =>
    encodeFrame({ type: 'command', command: 'GET', filename: 'small.bin', offset: first + i }),
  )));
}

/** The server has stopped: over the bound, and neither its count of commands nor its unsent bytes move. */
async function serverHeldBack(): Promise<void> {
  await until(() => unsent() > MAX_UNSENT_REPLY_BYTES, 'unsent answers above the bound');
  for (;;) {
    const before = { run: commandsRun, unsent: unsent() };
    await pause(300);
    if (commandsRun === before.run && unsent() === before.unsent) return;
  }
}

async function readGet(conn: PullConnection, offset: number): Promise<void> {
  expect(await conn.frame(10_000)).toMatchObject({ type: 'response', code: 200, offset, size: SMALL_BYTES });
  const payload = await conn.bytes(SMALL_BYTES - offset, 10_000);
  if (!payload.equals(content.subarray(offset))) throw new Error(`payload at offset ${offset} differs`);
  expect(await conn.frame(10_000)).toMatchObject({ type: 'transfer', code: 226, bytes: SMALL_BYTES - offset });
}

describe('a client that pipelines and does not read', () => {
  it('holds at most the bound plus one answer, runs no further command, then answers all 2,000 in order', async () => {
    await start();
    const conn = await connect();
    const total = 2_000;
    pipelineGets(conn, total);
    await serverHeldBack();
    const runWhileHeld = commandsRun;
    console.log(`held back after ${runWhileHeld} of ${total} GETs with ${unsent()} bytes unsent (bound ${MAX_UNSENT_REPLY_BYTES})`);
    expect(unsent()).toBeLessThanOrEqual(MAX_UNSENT_REPLY_BYTES + LARGEST_ANSWER);
    // What ran beyond the bound sits in the kernel's socket buffers, not in the server.
    expect(runWhileHeld).toBeLessThan(total / 4);

    let highest = 0;
    for (let i = 0; i < total; i++) {
      await readGet(conn, i);
      highest = Math.max(highest, unsent());
    }
    expect(highest).toBeLessThanOrEqual(MAX_UNSENT_REPLY_BYTES + LARGEST_ANSWER);
    expect(commandsRun).toBe(total);
    expect(await conn.request('STAT', { filename: 'small.bin' })).toMatchObject({ code: 200 });
  });

  it('bounds big LS answers the same way and keeps them in order with the rest', async () => {
    await start();
    await fs.mkdir(path.join(base, 'big'));
    const entries = 1_500;
    for (let i = 0; i < entries; i += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, j) => fs.writeFile(path.join(base, 'big', `${'n'.repeat(60)}-${i + j}`), '')));
    }
    const conn = await connect();
    const rounds = 60;
    const frames: Buffer[] = [];
    for (let i = 0; i < rounds; i++) {
      frames.push(encodeFrame({ type: 'command', command: 'LS', path: 'big' }));
      frames.push(encodeFrame({ type: 'command', command: 'GET', filename: 'small.bin', offset: i }));
    }
    conn.write(Buffer.concat(frames));
    await serverHeldBack();
    const listingBytes = encodeFrame((await fs.readdir(path.join(base, 'big'))).map((name) => ({ name, type: 'file', size: 0, mtime: new Date(0).toISOString() }))).length;
    expect(unsent()).toBeLessThanOrEqual(MAX_UNSENT_REPLY_BYTES + listingBytes + 1024);
    expect(commandsRun).toBeLessThan(rounds);
    for (let i = 0; i < rounds; i++) {
      const listing = await conn.frame(10_000);
      expect(listing).toMatchObject({ code: 200 });
      expect((listing.files as unknown[]).length).toBe(entries);
      await readGet(conn, i);
    }
  });

  it('is cut after the transfer timeout with no answer read, and not before', async () => {
    await start({ transferTimeoutMs: 5_000, idleTimeoutMs: 60_000 });
    const conn = await connect();
    pipelineGets(conn, 500);
    await serverHeldBack();
    clock.advance(4_999);
    await pause(100);
    expect(conn.closed).toBe(false);
    // The timer was armed when the session stopped reading; if the kernel took
    // a last write after that, the first check sees progress and waits once more.
    clock.advance(1);
    clock.advance(5_000);
    await conn.waitClosed(5_000);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'WARNING', message: 'Closing connection: answers unread for 5 s' }));
    expect(log.lines.some((l) => /idle/.test(l.message))).toBe(false);
    await until(() => server.activeSessions === 0, 'the session forgotten');
  });

  it('is neither idle nor stalled while it reads its answers slowly, however long that takes', async () => {
    // An idle timeout shorter than the wait: waiting on the client's reading must not count as idle.
    await start({ transferTimeoutMs: 5_000, idleTimeoutMs: 3_000 });
    const conn = await connect();
    const total = 800;
    pipelineGets(conn, total);
    await serverHeldBack();
    let read = 0;
    for (let step = 0; step < 8; step++) {
      // Read answers until the server sees some leave; once it is held back
      // again, let 4 s of its time pass.
      const before = unsent();
      while (unsent() === before && read < total) {
        await readGet(conn, read);
        read += 1;
        await pause(5);
      }
      await serverHeldBack();
      clock.advance(4_000);
    }
    // 32 s of server time later, with idle at 3 s and the transfer timeout at 5 s: still served.
    expect(conn.closed).toBe(false);
    for (; read < total; read++) await readGet(conn, read);
    expect(await conn.request('STAT', { filename: 'small.bin' })).toMatchObject({ code: 200 });
    expect(log.lines.filter((l) => l.message.startsWith('Closing connection'))).toEqual([]);
  });

  it('still answers everything in order when the client half-closes right after pipelining', async () => {
    await start();
    const conn = await connect();
    pipelineGets(conn, 300);
    conn.socket.end();
    await serverHeldBack();
    for (let i = 0; i < 300; i++) await readGet(conn, i);
    await conn.waitClosed(5_000);
  });
});
