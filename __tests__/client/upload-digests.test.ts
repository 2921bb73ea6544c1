/**
 * Uploads of local files and the digests remembered per file version: a real
 * server on port 0 (its log read to see what it was sent), real files.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FtpClient } from '../../src/client/ftp-client';
import { LocalDigestCache } from '../../src/client/local-digests';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { patternBytes } from './helpers';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let base: string;
let root: string;
let local: string;
let log: MemoryLog;
let server: FileServer;
let client: FtpClient;

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-upload-digests-'));
  root = path.join(base, 'root');
  local = path.join(base, 'local');
  await fs.mkdir(root);
  await fs.mkdir(local);
  log = new MemoryLog();
  server = await FileServer.start({ root, host: '127.0.0.1', port: 0, log });
  client = await FtpClient.connect({ host: '127.0.0.1', port: server.port });
});
afterEach(async () => {
  client.close();
  await server.close(1_000);
  await fs.rm(base, { recursive: true, force: true });
});

const mismatches = () => log.lines.filter((line) => /Checksum mismatch/.test(line.message)).length;

async function keyOf(file: string): Promise<string> {
  return LocalDigestCache.keyOf(await fs.stat(file, { bigint: true }));
}

test('the first upload remembers the digest of that file version, the next one sends it without hashing again', async () => {
  const file = path.join(local, 'a.bin');
  const data = patternBytes(3 * 1024 * 1024 + 5, 3);
  await fs.writeFile(file, data);
  const digests = new LocalDigestCache();
  expect(await client.upload(file, 'a.bin', { digests })).toMatchObject({ bytes: data.length, sha256: sha256(data) });
  expect(digests.get(await keyOf(file))).toBe(sha256(data));

  // Plant a wrong digest for this very version: if the next upload takes the
  // remembered digest (and does not hash the file first), the server refuses
  // it once; the uploader then forgets it, hashes, and sends again.
  digests.set(await keyOf(file), sha256(Buffer.from('not the content')));
  expect(await client.upload(file, 'b.bin', { digests })).toMatchObject({ bytes: data.length, sha256: sha256(data) });
  expect(mismatches()).toBe(1);
  expect(digests.get(await keyOf(file))).toBe(sha256(data));
  expect((await fs.readFile(path.join(root, 'b.bin'))).equals(data)).toBe(true);
  expect((await fs.readdir(root)).sort()).toEqual(['a.bin', 'b.bin']);
});

test('a file rewritten in place with the same size is a new version: hashed again, its new bytes stored', async () => {
  const file = path.join(local, 'same.bin');
  const first = patternBytes(1024 * 1024, 1);
  await fs.writeFile(file, first);
  const digests = new LocalDigestCache();
  await client.upload(file, 'same.bin', { digests });
  const second = patternBytes(1024 * 1024, 2);
  // A later mtime even on a coarse clock: the version key must move.
  const handle = await fs.open(file, 'r+');
  await handle.write(second, 0, second.length, 0);
  await handle.utimes(new Date(), new Date(Date.now() + 5_000));
  await handle.close();
  expect(await client.upload(file, 'same.bin', { digests })).toMatchObject({ sha256: sha256(second) });
  expect((await fs.readFile(path.join(root, 'same.bin'))).equals(second)).toBe(true);
  expect(mismatches()).toBe(0);
  expect(digests.size).toBe(2);
});

test('with digests: null every upload hashes the file and nothing is remembered', async () => {
  const file = path.join(local, 'n.bin');
  await fs.writeFile(file, patternBytes(100_000, 9));
  const digests = new LocalDigestCache();
  await client.upload(file, 'n.bin', { digests: null });
  await client.upload(file, 'n.bin', { digests: null });
  expect(digests.size).toBe(0);
  expect(mismatches()).toBe(0);
});

test('the cache forgets the least recently used version past its capacity', () => {
  const cache = new LocalDigestCache(2);
  cache.set('a', '1');
  cache.set('b', '2');
  expect(cache.get('a')).toBe('1');
  cache.set('c', '3');
  expect(cache.get('b')).toBeUndefined();
  expect(cache.get('a')).toBe('1');
  expect(cache.get('c')).toBe('3');
  expect(cache.size).toBe(2);
});
