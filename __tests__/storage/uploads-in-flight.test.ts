/**
 * Replacing needs explicit consent (`replace`), atomically (finding 3);
 * uploads in flight are known to every storage of the process and hold
 * their space; LS stops at its byte budget (issue 10, "also seen").
 */
import { promises as fsp } from 'node:fs';
import { ConflictError, ForbiddenError, InsufficientStorageError, TooLargeError } from '../../src/protocol/errors';
import { MESSAGES } from '../../src/storage/fs-errors';
import { entryBytes, listFolder } from '../../src/storage/listing';
import { PathResolver } from '../../src/storage/resolver';
import { isTempUploadName } from '../../src/storage/path-rules';
import { StorageRegistry } from '../../src/storage/registry';
import { expectError, makeFixture, onDisk, type StorageFixture } from './storage-fixture';
import type { StringPathStorage } from './storage-fixture';
import { localStrings } from './storage-fixture';

let fx: StorageFixture;
let storage: StringPathStorage;

beforeEach(async () => {
  fx = await makeFixture();
  storage = fx.storage;
  await fsp.writeFile(fx.at('important.txt'), 'precious');
  await fsp.writeFile(fx.at('junk.txt'), 'junk');
  await fsp.mkdir(fx.at('home'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fx.cleanup();
});

const read = (rel: string): Promise<string> => fsp.readFile(fx.at(rel), 'utf8');
const temps = async (rel = ''): Promise<string[]> => (await onDisk(fx.at(rel))).filter(isTempUploadName);

describe('replace: false', () => {
  it('refuses a PUT over an existing file before any byte (403), keeping it', async () => {
    const err = await expectError(storage.beginUpload('important.txt', 0, { replace: false }), ForbiddenError, 403);
    expect(err.message).toBe(MESSAGES.replaceNeedsDelete);
    expect(await read('important.txt')).toBe('precious');
    expect(await temps()).toEqual([]);
  });

  it('refuses at commit a file that appeared during the upload (atomic, no check-then-rename)', async () => {
    const upload = await storage.beginUpload('late.txt', 3, { replace: false });
    upload.stream.end('new');
    await fsp.writeFile(fx.at('late.txt'), 'got here first');
    await expectError(upload.commit(), ForbiddenError, 403);
    expect(await read('late.txt')).toBe('got here first');
    expect(await temps()).toEqual([]);
  });

  it('still creates new files', async () => {
    const upload = await storage.beginUpload('fresh.txt', 3, { replace: false });
    upload.stream.end('new');
    await upload.commit();
    expect(await read('fresh.txt')).toBe('new');
    expect(await temps()).toEqual([]);
  });

  it('refuses a RENAME onto an existing file (403), both kept; moves to a free name', async () => {
    await expectError(storage.rename('junk.txt', 'important.txt', { replace: false }), ForbiddenError, 403);
    expect(await read('important.txt')).toBe('precious');
    expect(await read('junk.txt')).toBe('junk');
    await storage.rename('junk.txt', 'home/junk.txt', { replace: false });
    expect(await onDisk(fx.rootDir)).toEqual(['home', 'important.txt']);
    expect(await read('home/junk.txt')).toBe('junk');
  });

  it('moves a link as a link, and a folder, without replacing anything', async () => {
    await fsp.symlink('important.txt', fx.at('alias'));
    await storage.rename('alias', 'alias2', { replace: false });
    expect(await fsp.readlink(fx.at('alias2'))).toBe('important.txt');
    await storage.rename('home', 'home2', { replace: false });
    await expectError(storage.rename('home2', 'important.txt', { replace: false }), ConflictError, 409);
    expect(await onDisk(fx.rootDir)).toEqual(['alias2', 'home2', 'important.txt', 'junk.txt']);
  });
});

describe('uploads in flight across storages (a home below the root)', () => {
  it('RMDIR through the root sees the home storage\'s in-flight temp file as content (409)', async () => {
    const home = await localStrings(fx.at('home'));
    const upload = await home.beginUpload('file.txt', 4);
    expect(await temps('home')).toHaveLength(1);
    await expectError(storage.removeDirectory('home'), ConflictError, 409);
    expect(await storage.removeStaleUploads()).toBe(0);
    upload.stream.end('data');
    await upload.commit();
    expect(await read('home/file.txt')).toBe('data');
  });

  it('but treats a temp file nobody is writing as stale', async () => {
    await fsp.writeFile(fx.at('home/.ftp-upload-0123456789abcdef.tmp'), 'left by a killed process');
    await storage.removeDirectory('home');
    expect(await onDisk(fx.rootDir)).toEqual(['important.txt', 'junk.txt']);
  });
});

describe('free space and uploads in flight', () => {
  it('counts the bytes other uploads still have to write (507 early), and frees them when they end', async () => {
    const registry = new StorageRegistry();
    const mine = await localStrings(fx.rootDir, { registry });
    const other = await localStrings(fx.at('home'), { registry });
    const space = await fsp.statfs(fx.rootDir);
    const free = space.bavail * space.bsize;
    // Each fits alone; two together do not. Wide margins: other agents share this disk.
    const size = Math.floor(free * 0.6);
    const first = await mine.beginUpload('big-1.bin', size);
    await expectError(other.beginUpload('big-2.bin', size), InsufficientStorageError, 507);
    expect(await temps('home')).toEqual([]);
    await first.abort();
    const second = await other.beginUpload('big-2.bin', size);
    await second.abort();
  });

  it('reserves only what is not yet written', () => {
    const registry = new StorageRegistry();
    let written = 0;
    registry.add({ tempPath: '/x/a', device: 1n, outstandingBytes: () => 100 - written });
    registry.add({ tempPath: '/x/b', device: 2n, outstandingBytes: () => 50 });
    expect(registry.reservedBytes(1n)).toBe(100);
    written = 40;
    expect(registry.reservedBytes(1n)).toBe(60);
    registry.delete('/x/a');
    expect(registry.reservedBytes(1n)).toBe(0);
    expect(registry.reservedBytes(2n)).toBe(50);
  });
});

describe('LS under a byte budget', () => {
  beforeEach(async () => {
    await fsp.mkdir(fx.at('many'));
    for (let i = 0; i < 600; i++) await fsp.writeFile(fx.at(`many/file-${String(i).padStart(4, '0')}.txt`), 'x');
  });

  it('lists a folder that fits exactly, and refuses one byte less with 413', async () => {
    const all = await storage.list('many');
    const exact = all.reduce((sum, entry) => sum + entryBytes(entry), 0);
    expect(await storage.list('many', { maxReplyBytes: exact })).toEqual(all);
    const err = await expectError(storage.list('many', { maxReplyBytes: exact - 1 }), TooLargeError, 413);
    expect(err.message).toBe(MESSAGES.listingTooLarge);
  });

  it('reads a big folder as a stream and a small one in one call, with the same result and the same stop', async () => {
    const resolver = new PathResolver(fx.rootDir);
    const opendir = jest.spyOn(fsp, 'opendir');
    const streamed = await listFolder(resolver, fx.at('many'), { folderSize: Number.MAX_SAFE_INTEGER });
    expect(opendir).toHaveBeenCalledTimes(1);
    expect(await listFolder(resolver, fx.at('many'), { folderSize: 0 })).toEqual(streamed);
    expect(opendir).toHaveBeenCalledTimes(1);
    expect(streamed).toHaveLength(600);
    await expectError(listFolder(resolver, fx.at('many'), { folderSize: Number.MAX_SAFE_INTEGER, maxReplyBytes: 1_000 }), TooLargeError, 413);
  });

  it('stops describing entries soon after the budget is spent', async () => {
    const lstat = jest.spyOn(fsp, 'lstat');
    await expectError(storage.list('many', { maxReplyBytes: 1_000 }), TooLargeError, 413);
    // One batch (256 names) at most, not all 600.
    expect(lstat.mock.calls.filter(([p]) => String(p).endsWith('.txt')).length).toBeLessThanOrEqual(256);
  });
});
