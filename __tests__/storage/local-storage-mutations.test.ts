import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ConflictError,
  ForbiddenError,
  InsufficientStorageError,
  NotFoundError,
} from '../../src/protocol/errors';
import { isTempUploadName } from '../../src/storage/path-rules';
import { TempUpload } from '../../src/storage/temp-files';
import { expectError, makeFixture, onDisk, type StorageFixture } from './storage-fixture';
import type { StringPathStorage } from './storage-fixture';

const TEMP = '.ftp-upload-0123456789abcdef.tmp';
let fx: StorageFixture;
let storage: StringPathStorage;

beforeEach(async () => {
  fx = await makeFixture();
  storage = fx.storage;
  await fsp.writeFile(fx.at('f.txt'), 'old content');
  await fsp.mkdir(fx.at('sub'));
  await fsp.writeFile(fx.at('sub/inner.txt'), 'inner');
  await fsp.symlink('../root_evil', fx.at('x'));
  await fsp.symlink('f.txt', fx.at('in-file'));
  await fsp.symlink('sub', fx.at('in-dir'));
});
afterEach(() => fx.cleanup());

const read = (rel: string): Promise<string> => fsp.readFile(fx.at(rel), 'utf8');
const temps = async (rel = ''): Promise<string[]> => (await onDisk(fx.at(rel))).filter(isTempUploadName);

describe('beginUpload', () => {
  it('is atomic: the target keeps its old content until commit', async () => {
    const upload = await storage.beginUpload('f.txt', 11);
    await new Promise<void>((resolve, reject) => upload.stream.write('new ', (err) => (err ? reject(err) : resolve())));
    expect(await read('f.txt')).toBe('old content');
    expect(await temps()).toHaveLength(1);
    expect((await storage.list('/')).some((e) => isTempUploadName(e.name))).toBe(false);
    upload.stream.end('content');
    await upload.commit();
    expect(await read('f.txt')).toBe('new content');
    expect(await temps()).toEqual([]);
    await upload.abort(); // after a commit: nothing to undo
    expect(await read('f.txt')).toBe('new content');
  });

  it('leaves the target untouched and no temp file after abort (twice)', async () => {
    const upload = await storage.beginUpload('f.txt', 100);
    upload.stream.write('partial');
    await upload.abort();
    await upload.abort();
    expect(await read('f.txt')).toBe('old content');
    expect(await temps()).toEqual([]);
    await expect(upload.commit()).rejects.toThrow();
    expect(await read('f.txt')).toBe('old content');
  });

  it('streams through pipeline into a new file with mode 0644 (minus umask)', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const upload = await storage.beginUpload('sub/big.bin', 40 * 64 * 1024);
    await pipeline(Readable.from(chunks), upload.stream);
    await upload.commit();
    // Buffer.equals: jest's toEqual walks 2.5 MB element by element.
    expect((await fsp.readFile(fx.at('sub/big.bin'))).equals(Buffer.concat(chunks))).toBe(true);
    expect((await fsp.stat(fx.at('sub/big.bin'))).mode & 0o777 & ~0o644).toBe(0);
    expect(await temps('sub')).toEqual([]);
  });

  it('accepts an empty upload', async () => {
    const upload = await storage.beginUpload('/empty.txt', 0);
    await upload.commit();
    expect(await read('empty.txt')).toBe('');
  });

  it('refuses to publish a short upload (size mismatch) and cleans up', async () => {
    const upload = await storage.beginUpload('f.txt', 10);
    upload.stream.end('short');
    await expect(upload.commit()).rejects.toThrow(/size mismatch/);
    expect(await read('f.txt')).toBe('old content');
    expect(await temps()).toEqual([]);
  });

  it('writes through a link inside the root to its target, keeping the link', async () => {
    const upload = await storage.beginUpload('in-file', 3);
    upload.stream.end('via');
    await upload.commit();
    expect(await read('f.txt')).toBe('via');
    expect(await fsp.readlink(fx.at('in-file'))).toBe('f.txt');
  });

  it('lets the last of two concurrent uploads win, each whole', async () => {
    const a = await storage.beginUpload('race.txt', 4);
    const b = await storage.beginUpload('race.txt', 4);
    a.stream.end('AAAA');
    b.stream.end('BBBB');
    await b.commit();
    expect(await read('race.txt')).toBe('BBBB');
    await a.commit();
    expect(await read('race.txt')).toBe('AAAA');
    expect(await temps()).toEqual([]);
  });

  // A bad size is the PUT's field check now (400, __tests__/server/commands.test.ts):
  // the storage takes sizes already validated, as it takes parsed paths.
  it('answers 409 for the root and folders, 404/409 for a bad parent', async () => {
    await expectError(storage.beginUpload('/', 1), ConflictError, 409);
    await expectError(storage.beginUpload('sub', 1), ConflictError, 409);
    await expectError(storage.beginUpload('in-dir', 1), ConflictError, 409);
    await expectError(storage.beginUpload('nodir/a.txt', 1), NotFoundError, 404);
    await expectError(storage.beginUpload('f.txt/a.txt', 1), ConflictError, 409);
    expect(await temps()).toEqual([]);
  });

  it('answers 507 when the disk has less free space than the size, creating nothing', async () => {
    await expectError(storage.beginUpload('huge.bin', Number.MAX_SAFE_INTEGER), InsufficientStorageError, 507);
    expect(await temps()).toEqual([]);
    await expectError(storage.stat('huge.bin'), NotFoundError, 404);
  });

  it('turns a full disk during the write into 507 from the stream and from commit', async () => {
    // /dev/full fails every write with ENOSPC.
    const handle = await fsp.open('/dev/full', 'w');
    const active = new Set<string>();
    const upload = new TempUpload({
      handle,
      tempPath: path.join(fx.base, TEMP),
      targetPath: path.join(fx.base, 'never.txt'),
      expectedSize: 4,
      fsync: false,
      tracker: active,
    });
    expect(active.size).toBe(1);
    await expectError(pipeline(Readable.from([Buffer.from('data')]), upload.stream), InsufficientStorageError, 507);
    await expectError(upload.commit(), InsufficientStorageError, 507);
    await upload.abort();
    expect(active.size).toBe(0);
    await expect(fsp.access(path.join(fx.base, 'never.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('deleteFile', () => {
  it('deletes a file; 404 missing; 409 a folder or the root', async () => {
    await storage.deleteFile('sub/inner.txt');
    expect(await onDisk(fx.at('sub'))).toEqual([]);
    await expectError(storage.deleteFile('sub/inner.txt'), NotFoundError, 404);
    await expectError(storage.deleteFile('nodir/a'), NotFoundError, 404);
    await expectError(storage.deleteFile('sub'), ConflictError, 409);
    await expectError(storage.deleteFile('in-dir'), ConflictError, 409);
    await expectError(storage.deleteFile('/'), ConflictError, 409);
  });

  it('removes a link itself, not the file it points to', async () => {
    await storage.deleteFile('in-file');
    await expect(fsp.lstat(fx.at('in-file'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await read('f.txt')).toBe('old content');
  });
});

describe('makeDirectory', () => {
  it('creates a folder; 409 if anything holds the name; 404 missing parent; 409 parent a file', async () => {
    await storage.makeDirectory('sub/new');
    expect((await fsp.stat(fx.at('sub/new'))).isDirectory()).toBe(true);
    await storage.makeDirectory('in-dir/via-link');
    expect((await fsp.stat(fx.at('sub/via-link'))).isDirectory()).toBe(true);
    await expectError(storage.makeDirectory('sub/new'), ConflictError, 409);
    await expectError(storage.makeDirectory('f.txt'), ConflictError, 409);
    await expectError(storage.makeDirectory('in-file'), ConflictError, 409);
    await expectError(storage.makeDirectory('/'), ConflictError, 409);
    await expectError(storage.makeDirectory('a/b'), NotFoundError, 404);
    await expectError(storage.makeDirectory('f.txt/b'), ConflictError, 409);
  });
});

describe('removeDirectory', () => {
  it('removes an empty folder; 403 root; 409 not empty; 404 missing; 409 a file', async () => {
    await fsp.mkdir(fx.at('empty'));
    await storage.removeDirectory('empty');
    await expectError(storage.stat('empty'), NotFoundError, 404);
    await expectError(storage.removeDirectory('/'), ForbiddenError, 403);
    await expectError(storage.removeDirectory('sub'), ConflictError, 409);
    await expectError(storage.removeDirectory('missing'), NotFoundError, 404);
    await expectError(storage.removeDirectory('f.txt'), ConflictError, 409);
    await expectError(storage.removeDirectory('in-file'), ConflictError, 409);
  });

  it('treats stale temp files as nothing, but an upload in flight as content', async () => {
    await fsp.mkdir(fx.at('stale'));
    await fsp.writeFile(fx.at(`stale/${TEMP}`), 'left by a killed process');
    await storage.removeDirectory('stale');
    await expectError(storage.stat('stale'), NotFoundError, 404);

    await fsp.mkdir(fx.at('busy'));
    const upload = await storage.beginUpload('busy/file.txt', 1);
    await expectError(storage.removeDirectory('busy'), ConflictError, 409);
    await upload.abort();
    await storage.removeDirectory('busy');
  });

  it('removes a link to an empty folder, leaving the folder; 409 if that folder has content', async () => {
    await expectError(storage.removeDirectory('in-dir'), ConflictError, 409);
    await fsp.mkdir(fx.at('target'));
    await fsp.symlink('target', fx.at('to-target'));
    await storage.removeDirectory('to-target');
    await expect(fsp.lstat(fx.at('to-target'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fsp.stat(fx.at('target'))).isDirectory()).toBe(true);
  });
});

describe('rename', () => {
  it('moves a file and replaces a file at the destination', async () => {
    await storage.rename('sub/inner.txt', 'moved.txt');
    expect(await read('moved.txt')).toBe('inner');
    await storage.rename('moved.txt', 'f.txt');
    expect(await read('f.txt')).toBe('inner');
    await expectError(storage.stat('moved.txt'), NotFoundError, 404);
  });

  it('moves folders, but not into themselves', async () => {
    await fsp.mkdir(fx.at('sub/deeper'));
    await expectError(storage.rename('sub', 'sub/inside'), ConflictError, 409);
    await expectError(storage.rename('sub', 'sub/deeper/inside'), ConflictError, 409);
    await expectError(storage.rename('sub', 'in-dir/inside'), ConflictError, 409);
    await storage.rename('sub', 'sub2'); // a sibling sharing the prefix is not inside
    expect(await read('sub2/inner.txt')).toBe('inner');
  });

  it('answers 404 for a missing source or destination parent', async () => {
    await expectError(storage.rename('missing', 'a'), NotFoundError, 404);
    await expectError(storage.rename('f.txt/x', 'a'), NotFoundError, 404);
    await expectError(storage.rename('f.txt', 'nodir/a'), NotFoundError, 404);
    expect(await read('f.txt')).toBe('old content');
  });

  it('answers 409 for a kind clash, 403 for the root as source', async () => {
    await fsp.mkdir(fx.at('other'));
    await expectError(storage.rename('f.txt', 'sub'), ConflictError, 409);
    await expectError(storage.rename('sub', 'f.txt'), ConflictError, 409);
    await expectError(storage.rename('sub', 'other'), ConflictError, 409);
    await expectError(storage.rename('f.txt', 'f.txt/child'), ConflictError, 409);
    await expectError(storage.rename('f.txt', '/'), ConflictError, 409);
    await expectError(storage.rename('/', 'elsewhere'), ForbiddenError, 403);
    expect(await read('f.txt')).toBe('old content');
  });

  it('moves a link itself, and will not put a link over its own target', async () => {
    await storage.rename('f.txt', '/f.txt'); // same name: nothing happens
    await expectError(storage.rename('in-file', 'f.txt'), ConflictError, 409);
    expect(await read('f.txt')).toBe('old content');
    await storage.rename('in-file', 'renamed-link');
    expect(await fsp.readlink(fx.at('renamed-link'))).toBe('f.txt');
    expect(await read('f.txt')).toBe('old content');
  });
});

describe('removeStaleUploads', () => {
  it('removes temp files at every depth, but not look-alikes, outside files or uploads in flight', async () => {
    await fsp.mkdir(fx.at('a/b/c'), { recursive: true });
    const stale = [TEMP, `sub/${TEMP}`, 'a/b/c/.ftp-upload-fedcba9876543210.tmp'];
    for (const rel of stale) await fsp.writeFile(fx.at(rel), 'stale');
    await fsp.writeFile(fx.at('.ftp-upload-user-file.tmp'), 'keep');
    await fsp.writeFile(path.join(fx.evil, TEMP), 'outside, reachable only through the x link');
    const inFlight = await storage.beginUpload('a/live.txt', 4);

    expect(await storage.removeStaleUploads()).toBe(3);
    for (const rel of stale) await expect(fsp.access(fx.at(rel))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await read('.ftp-upload-user-file.tmp')).toBe('keep');
    expect(await fsp.readFile(path.join(fx.evil, TEMP), 'utf8')).toMatch(/^outside/);
    expect(await temps('a')).toHaveLength(1);

    inFlight.stream.end('live');
    await inFlight.commit();
    expect(await read('a/live.txt')).toBe('live');
    expect(await storage.removeStaleUploads()).toBe(0);
  });
});
