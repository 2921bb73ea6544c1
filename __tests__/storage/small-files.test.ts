import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { localStrings } from './storage-fixture';
import { readSmallFileSync } from '../../src/storage/small-files';

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
    const small = await storage.readSmall('/a.txt', 1024);
    expect(small?.data.toString()).toBe('hello');
    expect(small?.versionKey).toBe((await storage.openRead('a.txt').then(async (f: { close(): Promise<void>; versionKey: string }) => (await f.close(), f.versionKey))));
    expect(await storage.readSmall('evil', 1024)).toBeUndefined();
    await expect(storage.openRead('evil')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(storage.readSmall('../a.txt', 1024)).rejects.toMatchObject({ kind: 'invalid_path' });
  });
});
