/**
 * Uploads hashed on a hash thread, over real sockets to a real server on
 * port 0 with real files: the contract's guarantees hold on this path too,
 * and a hostile or dying party loses nothing and publishes nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { UploadHasher } from '../../src/core/upload-hasher';
import { RawConnection } from '../helpers/raw-connection';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let base: string;
let root: string;
let hasher: UploadHasher;
let server: FileServer;
let log: MemoryLog;
const open: RawConnection[] = [];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-hash-thread-'));
  root = path.join(base, 'root');
  await fs.mkdir(root);
  hasher = new UploadHasher(1);
  log = new MemoryLog();
  server = await FileServer.start({ root, host: '127.0.0.1', port: 0, log, uploadHasher: hasher, limits: { shutdownGraceMs: 1_000 } });
});
afterEach(async () => {
  for (const conn of open.splice(0)) conn.close();
  await server.close(1_000);
  await fs.rm(base, { recursive: true, force: true });
});

async function connect(): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(server.port);
  open.push(conn);
  expect(greeting).toMatchObject({ code: 200 });
  return conn;
}

/** Send `data` in 256 KiB writes, waiting for the socket when it asks to. */
async function sendAll(conn: RawConnection, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 256 * 1024) {
    if (!conn.socket.write(data.subarray(at, at + 256 * 1024))) {
      await new Promise((resolve) => conn.socket.once('drain', resolve));
    }
  }
}

it('stores a large upload hashed on the thread and answers 226 with its digest', async () => {
  const conn = await connect();
  const data = randomBytes(12 * MiB + 7);
  expect(await conn.request('PUT', { filename: 'big.bin', size: data.length, sha256: sha256(data).toUpperCase() })).toMatchObject({ code: 150 });
  await sendAll(conn, data);
  expect(await conn.frame(30_000)).toEqual({
    type: 'response', code: 226, message: 'File received', filename: 'big.bin', bytes_received: data.length, sha256: sha256(data),
  });
  expect((await fs.readFile(path.join(root, 'big.bin'))).equals(data)).toBe(true);
  // The digest came from the thread: every slot of this upload was hashed there.
  expect(hasher.stats).toMatchObject({ threads: 1, uploads: 1, slots: 13, active: 0 });
});

it('a client announcing one digest and sending other bytes gets 422 after the payload; the old file stays', async () => {
  await fs.writeFile(path.join(root, 'keep.bin'), 'original');
  const conn = await connect();
  const claimed = randomBytes(10 * MiB);
  const sent = Buffer.from(claimed);
  sent[7 * MiB] ^= 0xff; // one flipped byte deep inside the payload
  expect(await conn.request('PUT', { filename: 'keep.bin', size: sent.length, sha256: sha256(claimed) })).toMatchObject({ code: 150 });
  await sendAll(conn, sent);
  expect(await conn.frame(30_000)).toMatchObject({ type: 'response', code: 422 });
  expect(await fs.readFile(path.join(root, 'keep.bin'), 'utf8')).toBe('original');
  expect(await fs.readdir(root)).toEqual(['keep.bin']);
  // The stream is still in step: the connection goes on.
  expect(await conn.request('STAT', { filename: 'keep.bin' })).toMatchObject({ code: 200, file: { size: 8 } });
  expect(hasher.stats.slots).toBe(10);
});

it('a client that leaves mid-payload leaves no temporary file and no hash state behind', async () => {
  const conn = await connect();
  expect(await conn.request('PUT', { filename: 'gone.bin', size: 20 * MiB })).toMatchObject({ code: 150 });
  await sendAll(conn, randomBytes(9 * MiB));
  // Bounded wait until the server has taken those bytes (a slot hashed means they arrived).
  for (let i = 0; i < 500 && hasher.stats.slots < 8; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(hasher.stats.slots).toBeGreaterThanOrEqual(8);
  conn.socket.destroy();
  for (let i = 0; i < 500 && ((await fs.readdir(root)).length > 0 || hasher.stats.active > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(await fs.readdir(root)).toEqual([]);
  expect(hasher.stats.active).toBe(0);
  expect(log.lines.some((line) => line.level === 'ERROR' && /PUT: Failed to receive file - gone\.bin/.test(line.message))).toBe(true);
});

it('a hash thread dying mid-upload fails it with 500, publishes nothing, and the connection and later uploads go on', async () => {
  const conn = await connect();
  const data = randomBytes(16 * MiB);
  expect(await conn.request('PUT', { filename: 'crash.bin', size: data.length })).toMatchObject({ code: 150 });
  await sendAll(conn, data.subarray(0, 6 * MiB));
  for (let i = 0; i < 500 && hasher.stats.slots < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(hasher.stats.slots).toBeGreaterThanOrEqual(4);
  hasher.crashThreadsForTesting();
  await sendAll(conn, data.subarray(6 * MiB));
  expect(await conn.frame(30_000)).toMatchObject({ type: 'response', code: 500 });
  expect(await fs.readdir(root)).toEqual([]);
  expect(log.lines.some((line) => line.level === 'ERROR' && /PUT: Internal error - crash\.bin/.test(line.message))).toBe(true);

  const again = randomBytes(5 * MiB);
  expect(await conn.request('PUT', { filename: 'after.bin', size: again.length })).toMatchObject({ code: 150 });
  await sendAll(conn, again);
  expect(await conn.frame(30_000)).toMatchObject({ code: 226, sha256: sha256(again) });
  expect((await fs.readFile(path.join(root, 'after.bin'))).equals(again)).toBe(true);
});
