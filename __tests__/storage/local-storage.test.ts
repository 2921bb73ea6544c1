import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
} from '../../src/protocol/errors';
import { toNativeError } from '../../src/server/replies';
import { StorageError } from '../../src/storage/errors';
import { FORBIDDEN_PATH_MESSAGE, mapFsError } from '../../src/storage/fs-errors';
import { LocalStorage } from '../../src/storage/local-storage';
import { PathResolver } from '../../src/storage/resolver';
import { expectError, makeFixture, readSource, type StorageFixture } from './storage-fixture';
import type { StringPathStorage } from './storage-fixture';

const TEMP = '.ftp-upload-0123456789abcdef.tmp';
let fx: StorageFixture;
let storage: StringPathStorage;

beforeEach(async () => {
  fx = await makeFixture();
  storage = fx.storage;
  await fsp.writeFile(fx.at('f.txt'), 'hello');
  await fsp.mkdir(fx.at('sub'));
  await fsp.writeFile(fx.at('sub/inner.txt'), 'inner');
  // x -> ../root_evil: a sibling whose name starts with the root's name.
  await fsp.symlink('../root_evil', fx.at('x'));
  await fsp.symlink(path.join(fx.evil, 'secret.txt'), fx.at('out-file'));
  await fsp.symlink(path.join(fx.evil, 'missing.txt'), fx.at('out-missing'));
  await fsp.symlink('nowhere', fx.at('dangling'));
  await fsp.symlink('loop2', fx.at('loop1'));
  await fsp.symlink('loop1', fx.at('loop2'));
  await fsp.symlink('sub', fx.at('in-dir'));
  await fsp.symlink('f.txt', fx.at('in-file'));
});
afterEach(() => fx.cleanup());

describe('LocalStorage.create', () => {
  it('creates a missing root only when asked, and keeps its real path', async () => {
    const wanted = path.join(fx.base, 'new', 'deep');
    await expect(LocalStorage.create(wanted)).rejects.toThrow();
    const made = await LocalStorage.create(wanted, { createRoot: true });
    expect(made.root).toBe(wanted);
    await fsp.symlink(fx.rootDir, path.join(fx.base, 'alias'));
    expect((await LocalStorage.create(path.join(fx.base, 'alias'))).root).toBe(fx.rootDir);
  });

  it('refuses a root that is a file', async () => {
    await expect(LocalStorage.create(fx.at('f.txt'))).rejects.toThrow(/not a folder/);
  });
});

describe('PathResolver.isInside', () => {
  it('uses path.relative, so a sibling sharing the prefix is outside', () => {
    const resolver = new PathResolver('/srv/root');
    expect(resolver.isInside('/srv/root')).toBe(true);
    expect(resolver.isInside('/srv/root/a/b')).toBe(true);
    expect(resolver.isInside('/srv/root/..foo')).toBe(true);
    expect(resolver.isInside('/srv/root_evil')).toBe(false);
    expect(resolver.isInside('/srv/root_evil/x')).toBe(false);
    expect(resolver.isInside('/srv')).toBe(false);
    expect(resolver.isInside('/etc/passwd')).toBe(false);
  });
});

describe('lexical rules apply to every operation (400)', () => {
  it.each(['..', 'a/../f.txt', 'sub\\inner.txt', 'f.txt\0', ''])('%j', async (bad) => {
    await expectError(storage.list(bad), BadRequestError, 400);
    await expectError(storage.stat(bad), BadRequestError, 400);
    await expectError(storage.openRead(bad), BadRequestError, 400);
    await expectError(storage.beginUpload(bad, 1), BadRequestError, 400);
    await expectError(storage.deleteFile(bad), BadRequestError, 400);
    await expectError(storage.makeDirectory(bad), BadRequestError, 400);
    await expectError(storage.removeDirectory(bad), BadRequestError, 400);
    await expectError(storage.rename(bad, 'ok'), BadRequestError, 400);
    await expectError(storage.rename('f.txt', bad), BadRequestError, 400);
  });

  it('a reserved temp name is 403 for every operation', async () => {
    await fsp.writeFile(fx.at(TEMP), 'partial');
    await expectError(storage.stat(TEMP), ForbiddenError, 403);
    await expectError(storage.openRead(TEMP), ForbiddenError, 403);
    await expectError(storage.beginUpload(TEMP, 1), ForbiddenError, 403);
    await expectError(storage.deleteFile(TEMP), ForbiddenError, 403);
    await expectError(storage.rename(TEMP, 'stolen'), ForbiddenError, 403);
    await expectError(storage.rename('f.txt', TEMP), ForbiddenError, 403);
    expect(await fsp.readFile(fx.at(TEMP), 'utf8')).toBe('partial');
  });
});

describe('confinement', () => {
  it('follows symlinks that stay inside the root', async () => {
    expect(await storage.stat('in-dir/inner.txt')).toMatchObject({ name: 'inner.txt', type: 'file', size: 5 });
    expect((await storage.list('in-dir')).map((e) => e.name)).toEqual(['inner.txt']);
    expect(await storage.stat('in-file')).toMatchObject({ name: 'in-file', type: 'file', size: 5 });
    const opened = await storage.openRead('in-dir/inner.txt');
    expect(await readSource(opened)).toBe('inner');
    await opened.close();
  });

  it('refuses a path through a link to a sibling sharing the prefix (root_evil)', async () => {
    await expectError(storage.list('x'), ForbiddenError, 403);
    await expectError(storage.stat('x'), ForbiddenError, 403);
    await expectError(storage.openRead('x/secret.txt'), ForbiddenError, 403);
    await expectError(storage.beginUpload('x/new.txt', 3), ForbiddenError, 403);
    await expectError(storage.makeDirectory('x/made'), ForbiddenError, 403);
    await expectError(storage.deleteFile('x/secret.txt'), ForbiddenError, 403);
    await expectError(storage.removeDirectory('x'), ForbiddenError, 403);
    await expectError(storage.rename('x/secret.txt', 'stolen.txt'), ForbiddenError, 403);
    await expectError(storage.rename('f.txt', 'x/planted.txt'), ForbiddenError, 403);
    // Nothing outside was read, written or removed.
    expect((await fsp.readdir(fx.evil)).sort()).toEqual(['secret.txt']);
    expect(await fsp.readFile(fx.at('f.txt'), 'utf8')).toBe('hello');
  });

  it('gives the same 403 whether or not the outside target exists', async () => {
    const pairs: Array<[string, string]> = [
      ['x/secret.txt', 'x/missing.txt'],
      ['out-file', 'out-missing'],
      ['x/secret.txt/deeper', 'x/missing/deeper'],
    ];
    for (const [existing, missing] of pairs) {
      for (const op of [storage.stat, storage.openRead, storage.deleteFile].map((f) => f.bind(storage))) {
        const a = await expectError(op(existing), ForbiddenError, 403);
        const b = await expectError(op(missing), ForbiddenError, 403);
        expect(a.message).toBe(FORBIDDEN_PATH_MESSAGE);
        expect(b.message).toBe(a.message);
      }
    }
  });

  it('refuses dangling links and link loops with 403 for every operation', async () => {
    for (const name of ['dangling', 'loop1']) {
      await expectError(storage.stat(name), ForbiddenError, 403);
      await expectError(storage.list(name), ForbiddenError, 403);
      await expectError(storage.openRead(name), ForbiddenError, 403);
      await expectError(storage.stat(`${name}/below`), ForbiddenError, 403);
      await expectError(storage.beginUpload(name, 1), ForbiddenError, 403);
      await expectError(storage.beginUpload(`${name}/below`, 1), ForbiddenError, 403);
      await expectError(storage.deleteFile(name), ForbiddenError, 403);
      await expectError(storage.makeDirectory(name), ForbiddenError, 403);
      await expectError(storage.removeDirectory(name), ForbiddenError, 403);
      await expectError(storage.rename(name, 'other'), ForbiddenError, 403);
    }
    expect(await fsp.readlink(fx.at('dangling'))).toBe('nowhere');
  });

  it('answers 404 for a path that is simply missing, once its prefix is inside', async () => {
    await expectError(storage.stat('nope'), NotFoundError, 404);
    await expectError(storage.stat('nope/deeper/still'), NotFoundError, 404);
    await expectError(storage.stat('in-dir/nope'), NotFoundError, 404);
    await expectError(storage.list('nope'), NotFoundError, 404);
    await expectError(storage.openRead('sub/nope.txt'), NotFoundError, 404);
  });

  it('treats a file in the middle of a path as 404 for lookups, 409 for creation', async () => {
    await expectError(storage.stat('f.txt/x'), NotFoundError, 404);
    await expectError(storage.openRead('f.txt/x'), NotFoundError, 404);
    await expectError(storage.list('f.txt/x'), NotFoundError, 404);
    await expectError(storage.deleteFile('f.txt/x'), NotFoundError, 404);
    await expectError(storage.beginUpload('f.txt/x', 1), ConflictError, 409);
    await expectError(storage.beginUpload('in-file/x', 1), ConflictError, 409);
    await expectError(storage.makeDirectory('f.txt/x'), ConflictError, 409);
    await expectError(storage.makeDirectory('f.txt/x/y'), ConflictError, 409);
    await expectError(storage.rename('sub/inner.txt', 'f.txt/inner.txt'), ConflictError, 409);
  });

  it('allows a name that merely starts with ..', async () => {
    await fsp.writeFile(fx.at('..foo'), 'dots');
    expect(await storage.stat('..foo')).toMatchObject({ name: '..foo', size: 4 });
  });
});

describe('list', () => {
  it('lists everything but temp files, escaping or dangling links and special files', async () => {
    await fsp.writeFile(fx.at('.dotfile'), '.');
    await fsp.writeFile(fx.at(TEMP), 'partial upload');
    execFileSync('mkfifo', [fx.at('fifo')]);
    const entries = await storage.list(undefined);
    expect(entries.map((e) => e.name)).toEqual(['.dotfile', 'f.txt', 'in-dir', 'in-file', 'sub']);
    expect(entries.find((e) => e.name === 'in-dir')).toMatchObject({ type: 'dir', size: 0 });
    expect(entries.find((e) => e.name === 'in-file')).toMatchObject({ type: 'file', size: 5 });
    expect(await storage.list('/')).toEqual(entries);
  });

  it('reports type, size and an ISO mtime', async () => {
    const when = new Date('2024-11-17T14:30:22.145Z');
    await fsp.utimes(fx.at('f.txt'), when, when);
    await fsp.utimes(fx.at('sub'), when, when);
    const entries = await storage.list('/');
    expect(entries.find((e) => e.name === 'f.txt')).toEqual({
      name: 'f.txt', type: 'file', size: 5, mtime: '2024-11-17T14:30:22.145Z',
    });
    expect(entries.find((e) => e.name === 'sub')).toEqual({
      name: 'sub', type: 'dir', size: 0, mtime: '2024-11-17T14:30:22.145Z',
    });
  });

  it('sorts by code point, not UTF-16 unit', async () => {
    await fsp.mkdir(fx.at('sorted'));
    const names = ['\u{1F600}', '\uFF01', 'B', 'a', '_', 'é'];
    for (const name of names) await fsp.writeFile(fx.at(`sorted/${name}`), '');
    const listed = (await storage.list('sorted')).map((e) => e.name);
    expect(listed).toEqual(['B', '_', 'a', 'é', '\uFF01', '\u{1F600}']);
  });

  it('lists a large folder completely', async () => {
    await fsp.mkdir(fx.at('many'));
    const names = Array.from({ length: 500 }, (_, i) => `file-${String(i).padStart(4, '0')}`);
    await Promise.all(names.map((name) => fsp.writeFile(fx.at(`many/${name}`), name)));
    const listed = await storage.list('many');
    expect(listed.map((e) => e.name)).toEqual(names);
    expect(listed.every((e) => e.size === 9)).toBe(true);
  });

  it('answers 409 for a file and 404 for a missing folder', async () => {
    await expectError(storage.list('f.txt'), ConflictError, 409);
    await expectError(storage.list('in-file'), ConflictError, 409);
    await expectError(storage.list('missing'), NotFoundError, 404);
  });
});

describe('stat', () => {
  it('names the root / and other entries by their last part', async () => {
    expect(await storage.stat('/')).toMatchObject({ name: '/', type: 'dir', size: 0 });
    expect(await storage.stat('//sub//inner.txt/')).toMatchObject({ name: 'inner.txt', type: 'file', size: 5 });
    expect((await storage.stat('sub')).mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('refuses special files with 403', async () => {
    execFileSync('mkfifo', [fx.at('fifo')]);
    await expectError(storage.stat('fifo'), ForbiddenError, 403);
  });
});

describe('openRead', () => {
  it('opens once: size, content and version come from the same handle', async () => {
    const opened = await storage.openRead('f.txt');
    expect(opened.size).toBe(5);
    expect(opened.versionKey).toMatch(/^\d+:\d+:5:\d+:\d+$/);
    // Replacing the file by rename (as an upload does) does not change what
    // this handle reads.
    await fsp.writeFile(fx.at('next.txt'), 'a newer, longer version');
    await fsp.rename(fx.at('next.txt'), fx.at('f.txt'));
    expect(await readSource(opened)).toBe('hello');
    await opened.close();
    await opened.close();
    const reopened = await storage.openRead('f.txt');
    expect(reopened.size).toBe(23);
    expect(reopened.versionKey).not.toBe(opened.versionKey);
    await reopened.close();
  });

  it('answers 409 for a folder and 403 for a FIFO (without blocking on it)', async () => {
    await expectError(storage.openRead('sub'), ConflictError, 409);
    await expectError(storage.openRead('in-dir'), ConflictError, 409);
    await expectError(storage.openRead('/'), ConflictError, 409);
    execFileSync('mkfifo', [fx.at('fifo')]);
    await expectError(storage.openRead('fifo'), ForbiddenError, 403);
  });
});

describe('mapFsError', () => {
  const errno = (code: string): Error =>
    Object.assign(new Error(`${code}: failed, open '/srv/secret/path'`), { code });

  it.each([
    ['ENOENT', 404], ['EISDIR', 409], ['ENOTDIR', 409], ['EEXIST', 409], ['ENOTEMPTY', 409],
    ['EACCES', 403], ['EPERM', 403], ['EROFS', 403], ['ENOSPC', 507], ['EDQUOT', 507],
    ['ENAMETOOLONG', 400], ['ELOOP', 403],
  ])('%s -> %i, without the server path', (code, status) => {
    const mapped = mapFsError(errno(code));
    expect(mapped).toBeInstanceOf(StorageError);
    expect(toNativeError(mapped).code).toBe(status);
    expect((mapped as StorageError).message).not.toContain('/srv');
  });

  it('returns other errors unchanged and passes storage errors through', () => {
    const odd = errno('EXDEV');
    expect(mapFsError(odd)).toBe(odd);
    const already = new StorageError('no_space', 'Insufficient storage');
    expect(mapFsError(already)).toBe(already);
  });
});
