/**
 * The RENAME rule (issue 10, finding 2): a rename never leaves a moved
 * symlink leading outside the storage, and renames that keep links inside
 * still work. Real files and links in a temp folder.
 */
import { promises as fsp } from 'node:fs';
import { ForbiddenError } from '../../src/protocol/errors';
import { MESSAGES } from '../../src/storage/fs-errors';
import { assertMoveKeepsLinksInside, resolveAfterMove } from '../../src/storage/link-check';
import { expectError, makeFixture, onDisk, type StorageFixture } from './storage-fixture';
import type { StringPathStorage } from './storage-fixture';

let fx: StorageFixture;
let storage: StringPathStorage;

beforeEach(async () => {
  fx = await makeFixture();
  storage = fx.storage;
  // The review's layout: d1/lnk2 -> ../b is inside while it lies in d1.
  await fsp.mkdir(fx.at('b'));
  await fsp.writeFile(fx.at('b/inside.txt'), 'inside');
  await fsp.mkdir(fx.at('d1'));
  await fsp.symlink('../b', fx.at('d1/lnk2'));
  // Leads to the sibling root_evil once it lies in the root itself.
  await fsp.mkdir(fx.at('root_evil'));
  await fsp.symlink('../root_evil', fx.at('d1/to-evil'));
});
afterEach(() => fx.cleanup());

const escaped = async (): Promise<string[]> => (await onDisk(fx.evil)).filter((name) => name !== 'secret.txt');

describe('renaming a symlink', () => {
  it('refuses a move that makes the link lead outside (403), moving nothing', async () => {
    const err = await expectError(storage.rename('d1/to-evil', 'to-evil'), ForbiddenError, 403);
    expect(err.message).toBe(MESSAGES.linkWouldEscape);
    expect(await fsp.readlink(fx.at('d1/to-evil'))).toBe('../root_evil');
    await expect(fsp.lstat(fx.at('to-evil'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a move that leaves the link dangling, since that cannot be proven safe', async () => {
    // At the root, ../b is the base folder's b: missing.
    await expectError(storage.rename('d1/lnk2', 'bob'), ForbiddenError, 403);
    expect(await onDisk(fx.rootDir)).toEqual(['b', 'd1', 'root_evil']);
  });

  it('allows a move after which the link still leads inside, even to another place', async () => {
    await fsp.mkdir(fx.at('x/y'), { recursive: true });
    await fsp.mkdir(fx.at('x/b'));
    await storage.rename('d1/lnk2', 'x/y/lnk2'); // now ../b is x/b
    expect(await fsp.realpath(fx.at('x/y/lnk2'))).toBe(fx.at('x/b'));
    await storage.rename('x/y/lnk2', 'd1/back'); // and ../b is b again
    expect(await fsp.readFile(fx.at('d1/back/inside.txt'), 'utf8')).toBe('inside');
  });

  it('refuses to rename a link over a file when that would make it escape', async () => {
    await fsp.writeFile(fx.at('victim.txt'), 'keep me');
    await fsp.writeFile(fx.at('root_evil/secret.txt'), 'an inside file');
    await fsp.symlink('../root_evil/secret.txt', fx.at('d1/sec'));
    await expectError(storage.rename('d1/sec', 'victim.txt'), ForbiddenError, 403);
    expect(await fsp.readFile(fx.at('victim.txt'), 'utf8')).toBe('keep me');
  });
});

describe('renaming a folder holding symlinks', () => {
  it('refuses a folder whose link would lead outside after the move', async () => {
    await fsp.mkdir(fx.at('deep'));
    await fsp.rename(fx.at('d1'), fx.at('deep/d1'));
    await fsp.symlink('../../root_evil', fx.at('deep/d1/up2')); // root/root_evil while in deep/d1
    await expectError(storage.rename('deep/d1', 'd1'), ForbiddenError, 403);
    expect(await onDisk(fx.at('deep/d1'))).toEqual(['lnk2', 'to-evil', 'up2']);
    expect(await escaped()).toEqual([]);
  });

  it('moves a folder whose links point inside it, or stay inside after the move', async () => {
    await fsp.mkdir(fx.at('proj/v1'), { recursive: true });
    await fsp.writeFile(fx.at('proj/v1/data.txt'), 'v1');
    await fsp.symlink('v1', fx.at('proj/current'));
    await fsp.symlink('../b', fx.at('proj/shared')); // b at the root, and b beside proj later too
    await fsp.mkdir(fx.at('area/b'), { recursive: true });
    await storage.rename('proj', 'area/proj');
    expect(await fsp.readFile(fx.at('area/proj/current/data.txt'), 'utf8')).toBe('v1');
    expect(await fsp.realpath(fx.at('area/proj/shared'))).toBe(fx.at('area/b'));
  });

  it('refuses a folder holding an absolute link into itself (it would dangle after the move)', async () => {
    await fsp.mkdir(fx.at('abs'));
    await fsp.writeFile(fx.at('abs/f.txt'), 'f');
    await fsp.symlink(fx.at('abs/f.txt'), fx.at('abs/l'));
    await expectError(storage.rename('abs', 'abs2'), ForbiddenError, 403);
    expect(await onDisk(fx.at('abs'))).toEqual(['f.txt', 'l']);
  });

  it('gives up on a folder with more entries than the check allows (403)', async () => {
    await fsp.mkdir(fx.at('many'));
    for (let i = 0; i < 12; i++) await fsp.writeFile(fx.at(`many/f${i}`), '');
    const move = { from: fx.at('many'), to: fx.at('many2') };
    await expect(assertMoveKeepsLinksInside(fx.rootDir, move, 'dir', 10)).rejects.toMatchObject({ kind: 'forbidden', message: MESSAGES.tooManyToCheck });
    await expect(assertMoveKeepsLinksInside(fx.rootDir, move, 'dir', 12)).resolves.toBeUndefined();
  });
});

describe('resolveAfterMove', () => {
  it('follows the kernel: .. after a link is taken from the link target', async () => {
    await fsp.mkdir(fx.at('p/q/r'), { recursive: true });
    await fsp.symlink('p/q/r', fx.at('deep-link'));
    const move = { from: fx.at('nothing-a'), to: fx.at('nothing-b') };
    // deep-link/.. is p/q (lexically it would be the root).
    expect(await resolveAfterMove(fx.rootDir, 'deep-link/..', move)).toBe(fx.at('p/q'));
    // The link to the root, then up: outside, whatever the lexical path says.
    await fsp.symlink('.', fx.at('self'));
    expect(await resolveAfterMove(fx.rootDir, 'self/..', move)).toBe(fx.base);
  });

  it('reads paths under the destination from the source, and treats the source as gone', async () => {
    const move = { from: fx.at('b'), to: fx.at('c') };
    expect(await resolveAfterMove(fx.rootDir, 'c/inside.txt', move)).toBe(fx.at('c/inside.txt'));
    expect(await resolveAfterMove(fx.rootDir, 'b/inside.txt', move)).toBeUndefined();
  });

  it('gives up on loops and on a file in the middle of a path', async () => {
    await fsp.symlink('loop-b', fx.at('loop-a'));
    await fsp.symlink('loop-a', fx.at('loop-b'));
    const move = { from: fx.at('nothing-a'), to: fx.at('nothing-b') };
    expect(await resolveAfterMove(fx.rootDir, 'loop-a', move)).toBeUndefined();
    expect(await resolveAfterMove(fx.rootDir, 'b/inside.txt/x', move)).toBeUndefined();
  });
});
