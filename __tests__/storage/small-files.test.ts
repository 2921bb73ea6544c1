import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { localStrings } from './storage-fixture';
import { readSmallFileSync } from '../../src/storage/small-files';
import { smallFileReader, type SmallFileCounts } from '../../src/storage/small-file-reader';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer } from '../helpers/test-server';

/** What the process's one small-file reader did while `run` ran. */
async function readerWork(run: () => Promise<void>): Promise<SmallFileCounts> {
  const before = smallFileReader.counts;
  await run();
  const after = smallFileReader.counts;
  return {
    jobs: after.jobs - before.jobs,
    read: after.read - before.read,
    outside: after.outside - before.outside,
    fallback: after.fallback - before.fallback,
    turnedAway: after.turnedAway - before.turnedAway,
  };
}

let base: string;
let root: string;
beforeEach(async () => {
  base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-small-')));
  root = path.join(base, 'root');
  await fs.mkdir(root);
  await fs.mkdir(path.join(base, 'root_evil'));
  await fs.writeFile(path.join(root, 'a.txt'), 'hello');
  await fs.writeFile(path.join(base, 'root_evil', 'secret.txt'), 'secret');
});
afterEach(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('readSmallFileSync', () => {
  it('reads a small regular file whole, with its version', () => {
    const result = readSmallFileSync(root, ['a.txt'], 1024);
    expect(result.kind).toBe('read');
    if (result.kind !== 'read') return;
    expect(result.file.data.toString()).toBe('hello');
    expect(result.file.size).toBe(5);
    expect(result.file.versionKey).toMatch(/^\d+:\d+:5:\d+:\d+$/);
  });

  it('says outside, before opening anything, for links that leave the root (sibling-prefix root too)', async () => {
    await fs.symlink(path.join(base, 'root_evil', 'secret.txt'), path.join(root, 'evil'));
    await fs.symlink('../root_evil', path.join(root, 'evil-dir'));
    expect(readSmallFileSync(root, ['evil'], 1024)).toEqual({ kind: 'outside' });
    expect(readSmallFileSync(root, ['evil-dir', 'secret.txt'], 1024)).toEqual({ kind: 'outside' });
  });

  it('leaves temp upload files, folders, large, missing and dangling paths to the normal path', async () => {
    await fs.writeFile(path.join(root, '.ftp-upload-0123456789abcdef.tmp'), 'x');
    await fs.mkdir(path.join(root, 'dir'));
    await fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(2048));
    await fs.symlink(path.join(base, 'nowhere'), path.join(root, 'dangling'));
    expect(readSmallFileSync(root, ['.ftp-upload-0123456789abcdef.tmp'], 1024)).toEqual({ kind: 'outside' });
    expect(readSmallFileSync(root, ['dir'], 1024)).toEqual({ kind: 'fallback' });
    expect(readSmallFileSync(root, ['big.bin'], 1024)).toEqual({ kind: 'fallback' });
    expect(readSmallFileSync(root, ['missing'], 1024)).toEqual({ kind: 'fallback' });
    expect(readSmallFileSync(root, ['dangling'], 1024)).toEqual({ kind: 'fallback' });
  });
});

describe('LocalStorage.readSmall (on the worker thread)', () => {
  it('returns the file, or nothing when the normal path must decide', async () => {
    const storage = await localStrings(root);
    await fs.symlink(path.join(base, 'root_evil', 'secret.txt'), path.join(root, 'evil'));
    await fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(2048));
    const work = await readerWork(async () => {
      const small = await storage.readSmall('/a.txt', 1024);
      expect(small?.data.toString()).toBe('hello');
      expect(small?.versionKey).toBe((await storage.openRead('a.txt').then(async (f: { close(): Promise<void>; versionKey: string }) => (await f.close(), f.versionKey))));
      expect(await storage.readSmall('evil', 1024)).toBeUndefined();
      await expect(storage.openRead('evil')).rejects.toMatchObject({ kind: 'forbidden' });
      expect(await storage.readSmall('big.bin', 1024)).toBeUndefined();
      await expect(storage.readSmall('../a.txt', 1024)).rejects.toMatchObject({ kind: 'invalid_path' });
    });
    // Three jobs on the worker, each answered there; the bad path never got one.
    expect(work).toEqual({ jobs: 3, read: 1, outside: 1, fallback: 1, turnedAway: 0 });
  });

  it('serves a small GET from one worker read, and leaves a large one to the normal path', async () => {
    const t = await startTestServer();
    try {
      // The worker loads ts-node on its first job (seconds on a busy
      // machine): start it here, not inside a request with a 5 s deadline.
      await smallFileReader.read(t.root, ['no-such-file'], 1);
      await t.put('small.txt', 'small file');
      await t.put('large.bin', Buffer.alloc(200 * 1024, 1));
      const { conn } = await RawConnection.open(t.port);
      try {
        const small = await readerWork(async () => {
          expect(await conn.request('GET', { filename: 'small.txt' })).toMatchObject({ code: 200, size: 10 });
          expect((await conn.bytes(10)).toString()).toBe('small file');
          expect(await conn.frame()).toMatchObject({ code: 226, bytes: 10 });
        });
        expect(small).toEqual({ jobs: 1, read: 1, outside: 0, fallback: 0, turnedAway: 0 });
        const large = await readerWork(async () => {
          expect(await conn.request('GET', { filename: 'large.bin' })).toMatchObject({ code: 200, size: 200 * 1024 });
          expect((await conn.bytes(200 * 1024)).equals(Buffer.alloc(200 * 1024, 1))).toBe(true);
          expect(await conn.frame()).toMatchObject({ code: 226, bytes: 200 * 1024 });
        });
        expect(large).toEqual({ jobs: 1, read: 0, outside: 0, fallback: 1, turnedAway: 0 });
      } finally {
        conn.close();
      }
    } finally {
      await t.stop();
    }
  });
});
