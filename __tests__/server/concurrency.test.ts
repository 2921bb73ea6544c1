import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Poll `check` every 10 ms until it holds; throws after `timeoutMs`. */
async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.stop();
});

/** One client's whole seed session: LS, GET, PUT, QUIT, checked byte for byte. */
async function seedSession(port: number, id: number, shared: Buffer): Promise<void> {
  const { conn, greeting } = await RawConnection.open(port);
  expect(greeting.code).toBe(200);
  const list = await conn.request('LS');
  expect((list.files as Array<{ name: string }>).some((f) => f.name === 'shared.bin')).toBe(true);

  const header = await conn.request('GET', { filename: 'shared.bin' });
  expect(header).toMatchObject({ code: 200, size: shared.length });
  const payload = await conn.bytes(shared.length, 20_000);
  const trailer = await conn.frame(20_000);
  expect(payload.equals(shared)).toBe(true);
  expect(trailer).toMatchObject({ code: 226, sha256: sha256(shared) });

  const mine = randomBytes(50_000 + id * 997);
  expect(await conn.request('PUT', { filename: `client-${id}.bin`, size: mine.length, sha256: sha256(mine) })).toMatchObject({ code: 150 });
  conn.write(mine);
  expect(await conn.frame(20_000)).toMatchObject({ code: 226, bytes_received: mine.length, sha256: sha256(mine) });
  // Buffer.equals, not toEqual: jest compares buffers index by index, slowly.
  expect((await fs.readFile(path.join(t.root, `client-${id}.bin`))).equals(mine)).toBe(true);

  expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
  await conn.waitClosed();
}

it('serves 50 clients at once, each doing LS, GET, PUT and QUIT byte-exactly', async () => {
  const shared = randomBytes(256 * 1024 + 3);
  await t.put('shared.bin', shared);
  await Promise.all(Array.from({ length: 50 }, (_, id) => seedSession(t.port, id, shared)));
  const names = await fs.readdir(t.root);
  expect(names.filter((n) => n.startsWith('client-'))).toHaveLength(50);
  expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
  // Every session was forgotten by the registry once its socket closed.
  for (let i = 0; i < 50 && t.server.activeSessions > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(t.server.activeSessions).toBe(0);
});

it('never produces a mix when two clients upload one name at once', async () => {
  const size = 4 * 1024 * 1024;
  const a = Buffer.alloc(size, 0x61);
  const b = Buffer.alloc(size, 0x62);
  for (let round = 0; round < 3; round++) {
    const [ca, cb] = await Promise.all([RawConnection.open(t.port), RawConnection.open(t.port)]);
    expect(await ca.conn.request('PUT', { filename: 'same.bin', size })).toMatchObject({ code: 150 });
    expect(await cb.conn.request('PUT', { filename: 'same.bin', size })).toMatchObject({ code: 150 });
    // Interleave the two payloads in slices so both temp files grow together.
    for (let offset = 0; offset < size; offset += 256 * 1024) {
      ca.conn.write(a.subarray(offset, offset + 256 * 1024));
      cb.conn.write(b.subarray(offset, offset + 256 * 1024));
    }
    const replies = await Promise.all([ca.conn.frame(20_000), cb.conn.frame(20_000)]);
    expect(replies.map((r) => r.code)).toEqual([226, 226]);
    const stored = await fs.readFile(path.join(t.root, 'same.bin'));
    expect(stored.length).toBe(size);
    expect(stored.equals(a) || stored.equals(b)).toBe(true);
    expect(await fs.readdir(t.root)).toEqual(['same.bin']);
    ca.conn.close();
    cb.conn.close();
  }
});

it('keeps the old file whole and leaves no temp file when a client is cut off mid-upload', async () => {
  await t.put('precious.txt', 'the original content');
  const { conn } = await RawConnection.open(t.port);
  expect(await conn.request('PUT', { filename: 'precious.txt', size: 1_000_000 })).toMatchObject({ code: 150 });
  conn.write(Buffer.alloc(300_000, 0x78));
  // Wait until the server has the temp file, then vanish.
  for (let i = 0; i < 100 && (await fs.readdir(t.root)).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  conn.close();
  for (let i = 0; i < 200 && (await fs.readdir(t.root)).length > 1; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await fs.readdir(t.root)).toEqual(['precious.txt']);
  expect(await fs.readFile(path.join(t.root, 'precious.txt'), 'utf8')).toBe('the original content');
  expect(t.log.lines.some((l) => l.level === 'ERROR' && l.message.startsWith('PUT: Failed to receive file - precious.txt'))).toBe(true);
  // And the server still serves.
  const { conn: next } = await RawConnection.open(t.port);
  expect(await next.request('LS')).toMatchObject({ code: 200, files: [{ name: 'precious.txt' }] });
  next.close();
});

it('lets a download finish from the version it opened while a PUT replaces the file', async () => {
  // Far more than loopback socket buffers and the server's send ring can
  // hold, so the download cannot be done before the PUT starts.
  const oldVersion = randomBytes(32 * 1024 * 1024);
  const newVersion = randomBytes(3 * 1024 * 1024 + 5);
  await t.put('doc.bin', oldVersion);
  // An in-process server of its own, so an observer can say what is in flight and in which order it ended.
  const events: string[] = [];
  const inFlight = new Set<string>();
  const server = await FileServer.start({
    root: t.root,
    host: '127.0.0.1',
    port: 0,
    log: new MemoryLog(),
    observer: {
      transferStarted: (start) => {
        events.push(`${start.direction} started`);
        inFlight.add(start.direction);
      },
      transfer: (record) => {
        events.push(`${record.direction} ${record.ok ? 'ok' : 'failed'}`);
        inFlight.delete(record.direction);
      },
    },
  });
  const reader = (await RawConnection.open(server.port)).conn;
  const writer = (await RawConnection.open(server.port)).conn;
  try {
    // Stop reading as soon as the first payload bytes are in: the server is then held mid-payload.
    let received = 0;
    const holdAfterFirstChunk = (chunk: Buffer) => {
      received += chunk.length;
      reader.socket.pause();
    };
    reader.socket.on('data', holdAfterFirstChunk);
    reader.command('GET', { filename: 'doc.bin' });
    const header = await reader.frame(20_000);
    expect(header).toMatchObject({ code: 200, size: oldVersion.length });
    await waitUntil(() => inFlight.has('download') && received > 0);
    expect(received).toBeLessThan(oldVersion.length);

    expect(await writer.request('PUT', { filename: 'doc.bin', size: newVersion.length, sha256: sha256(newVersion) })).toMatchObject({ code: 150 });
    writer.write(newVersion);
    expect(await writer.frame(20_000)).toMatchObject({ code: 226, sha256: sha256(newVersion) });
    expect((await fs.readFile(path.join(t.root, 'doc.bin'))).equals(newVersion)).toBe(true);
    // The replacement is complete while the download is still under way.
    expect(events).toEqual(['download started', 'upload started', 'upload ok']);
    expect(inFlight.has('download')).toBe(true);

    reader.socket.off('data', holdAfterFirstChunk);
    reader.socket.resume();
    const payload = await reader.bytes(oldVersion.length, 60_000);
    expect(sha256(payload)).toBe(sha256(oldVersion));
    expect(await reader.frame(20_000)).toMatchObject({ code: 226, bytes: oldVersion.length, sha256: sha256(oldVersion) });
    expect(events).toEqual(['download started', 'upload started', 'upload ok', 'download ok']);

    // A new GET opens the new version.
    const again = await reader.request('GET', { filename: 'doc.bin' });
    expect(again).toMatchObject({ code: 200, size: newVersion.length });
    expect(sha256(await reader.bytes(newVersion.length, 20_000))).toBe(sha256(newVersion));
    expect(await reader.frame(20_000)).toMatchObject({ code: 226, sha256: sha256(newVersion) });
  } finally {
    reader.close();
    writer.close();
    await server.close(1_000);
  }
}, 90_000);

it('answers pipelined commands in order', async () => {
  await t.put('a.txt', 'A');
  const { conn } = await RawConnection.open(t.port);
  conn.write(Buffer.concat([
    encodeFrame({ type: 'command', command: 'STAT', filename: 'a.txt' }),
    encodeFrame({ type: 'command', command: 'GET', filename: 'a.txt' }),
    encodeFrame({ type: 'command', command: 'STAT', filename: 'missing' }),
    encodeFrame({ type: 'command', command: 'QUIT' }),
  ]));
  expect(await conn.frame()).toMatchObject({ code: 200, file: { name: 'a.txt' } });
  expect(await conn.frame()).toMatchObject({ code: 200, size: 1 });
  expect((await conn.bytes(1)).toString()).toBe('A');
  expect(await conn.frame()).toMatchObject({ type: 'transfer', code: 226 });
  expect(await conn.frame()).toMatchObject({ code: 404 });
  expect(await conn.frame()).toMatchObject({ message: 'Goodbye' });
  await conn.waitClosed();
});
