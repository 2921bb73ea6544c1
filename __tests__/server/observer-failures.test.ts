/**
 * Issue 11 §6: an observer is a plug-in (metrics, a transfer log, a library
 * user's own). One that throws, or whose hooks return promises that reject,
 * must neither crash the process nor break a session: every hook call is
 * contained, and the failure is logged at ERROR once per interval per hook.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import type { ServerObserver } from '../../src/core/observer';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { RawConnection } from '../helpers/raw-connection';

const HOOKS = ['connection', 'sessionClosed', 'command', 'transferStarted', 'transfer'] as const;

let base: string;
let server: FileServer | undefined;
let log: MemoryLog;
const open: RawConnection[] = [];

afterEach(async () => {
  for (const conn of open.splice(0)) conn.close();
  await server?.close(500);
  server = undefined;
  await fs.rm(base, { recursive: true, force: true });
});

async function start(observer: ServerObserver): Promise<FileServer> {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-observer-'));
  await fs.writeFile(path.join(base, 'a.txt'), 'hello');
  log = new MemoryLog();
  server = await FileServer.start({
    root: base, host: '127.0.0.1', port: 0, log, observer,
    limits: { maxConnectionsPerIp: 2, shutdownGraceMs: 1_000 },
  });
  return server;
}

async function connect(port: number): Promise<{ conn: RawConnection; greeting: Record<string, unknown> }> {
  const result = await RawConnection.open(port);
  open.push(result.conn);
  return result;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every kind of traffic, each hook called many times: the session must go on answering correctly. */
async function exercise(s: FileServer): Promise<void> {
  const { conn, greeting } = await connect(s.port);
  expect(greeting).toMatchObject({ code: 200 });
  for (let round = 0; round < 3; round++) {
    expect(await conn.request('LS')).toMatchObject({ code: 200 });
    expect(await conn.request('GET', { filename: 'a.txt' })).toMatchObject({ code: 200, size: 5 });
    expect((await conn.bytes(5)).toString()).toBe('hello');
    expect(await conn.frame()).toMatchObject({ type: 'transfer', code: 226 });
    const body = `upload ${round}`;
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(await conn.request('PUT', { filename: `up-${round}.txt`, size: body.length })).toMatchObject({ code: 150 });
    conn.write(body);
    expect(await conn.frame()).toMatchObject({ code: 226, sha256 });
    expect(await conn.request('GET', { filename: 'missing.txt' })).toMatchObject({ code: 404 });
    conn.write(encodeFrame({ type: 'command', command: 'FROB' }));
    expect(await conn.frame()).toMatchObject({ code: 400 });
  }
  // A refused connection calls the connection hook too.
  const second = await connect(s.port);
  const third = await connect(s.port);
  expect(second.greeting).toMatchObject({ code: 200 });
  expect(third.greeting).toMatchObject({ code: 429 });
  second.conn.close();
  expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
  await conn.waitClosed();
  await until(() => s.activeSessions === 0, 'every session closed');
  // And the server still serves a new client.
  const next = await connect(s.port);
  expect(await next.conn.request('STAT', { filename: 'up-2.txt' })).toMatchObject({ code: 200 });
  expect(await fs.readFile(path.join(base, 'up-2.txt'), 'utf8')).toBe('upload 2');
}

const failures = () => log.lines.filter((l) => l.level === 'ERROR').map((l) => l.message);

it('keeps serving when every observer hook throws, and logs each hook failing once', async () => {
  const calls: string[] = [];
  const observer: ServerObserver = Object.fromEntries(
    HOOKS.map((hook) => [hook, () => {
      calls.push(hook);
      throw new Error(`${hook} is broken`);
    }]),
  );
  await exercise(await start(observer));
  // Every hook was called, and kept being called after it failed.
  for (const hook of HOOKS) expect(calls.filter((c) => c === hook).length).toBeGreaterThanOrEqual(hook === 'sessionClosed' ? 2 : 3);
  expect(failures().sort()).toEqual(HOOKS.map((hook) => `Observer hook ${hook} failed (${hook} is broken)`).sort());
  expect(log.lines.filter((l) => /Session failed|crashed|Internal error/.test(l.message))).toEqual([]);
});

it('contains hooks whose promises reject, too', async () => {
  const observer: ServerObserver = Object.fromEntries(
    HOOKS.map((hook) => [hook, async () => {
      throw new Error(`${hook} rejected`);
    }]),
  );
  await exercise(await start(observer));
  await until(() => failures().length === HOOKS.length, 'every rejection logged');
  expect(failures().sort()).toEqual(HOOKS.map((hook) => `Observer hook ${hook} failed (${hook} rejected)`).sort());
});
