/**
 * Confinement must hold when the file system is touched, not only when a
 * path is resolved (issue 10, finding 2). Each race is made deterministic by
 * doing the swap a racing client or local user would do from inside the fs
 * call the storage is about to make, then letting the real call run.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ForbiddenError } from '../../src/protocol/errors';
import { CHANGED_MESSAGE, HOME_CHANGED_MESSAGE, identityOf } from '../../src/storage/identity';
import { RootGuard } from '../../src/storage/root-guard';
import { expectError, makeFixture, onDisk, type StorageFixture } from './storage-fixture';
import { localStrings } from './storage-fixture';
import type { StringPathStorage } from './storage-fixture';

let fx: StorageFixture;

beforeEach(async () => {
  fx = await makeFixture();
  await fsp.mkdir(fx.at('a/b'), { recursive: true });
  await fsp.writeFile(fx.at('a/b/inner.txt'), 'inside');
  // The outside world mirrors the names, so a redirected call would succeed there.
  await fsp.mkdir(path.join(fx.evil, 'b'));
  await fsp.writeFile(path.join(fx.evil, 'b', 'inner.txt'), 'OUTSIDE-SECRET-CONTENT');
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fx.cleanup();
});

/** Swap the root's `a` for a link to the outside folder, as a racing user would. */
async function swapAOutside(): Promise<void> {
  await fsp.rename(fx.at('a'), fx.at('a-old'));
  await fsp.symlink(fx.evil, fx.at('a'));
}

/**
 * Run `swap` once, right before the first call of `fsp[method]` whose path
 * argument satisfies `match`, then make the real call.
 */
function swapBefore(method: 'open' | 'stat' | 'lstat' | 'opendir', match: (p: string) => boolean, swap: () => Promise<void>): void {
  const real = fsp[method].bind(fsp) as (...args: unknown[]) => Promise<unknown>;
  let done = false;
  jest.spyOn(fsp, method).mockImplementation((async (...args: unknown[]) => {
    if (!done && typeof args[0] === 'string' && match(args[0])) {
      done = true;
      await swap();
    }
    return real(...args);
  }) as never);
}

const outsideUntouched = async (): Promise<void> => {
  expect(await onDisk(fx.evil)).toEqual(['b', 'secret.txt']);
  expect(await onDisk(path.join(fx.evil, 'b'))).toEqual(['inner.txt']);
  expect(await fsp.readFile(path.join(fx.evil, 'b', 'inner.txt'), 'utf8')).toBe('OUTSIDE-SECRET-CONTENT');
};

describe('a folder swapped between resolving and using a path', () => {
  it('GET: the opened descriptor is outside, so nothing is served (403)', async () => {
    swapBefore('open', (p) => p.endsWith('inner.txt'), swapAOutside);
    const err = await expectError(fx.storage.openRead('a/b/inner.txt'), ForbiddenError, 403);
    expect(err.message).toBe(CHANGED_MESSAGE);
  });

  it('LS: the folder opened for reading is not the one resolved (403), no outside name shown', async () => {
    swapBefore('open', (p) => p.endsWith('/a/b'), swapAOutside);
    await expectError(fx.storage.list('a/b'), ForbiddenError, 403);
  });

  it('LS: entries are read through the opened folder, so a swap during the read changes nothing', async () => {
    // The swap happens once the folder is open: the listing is of the real a/b.
    swapBefore('opendir', () => true, swapAOutside);
    expect((await fx.storage.list('a/b')).map((e) => [e.name, e.size])).toEqual([['inner.txt', 6]]);
  });

  it('STAT: the size read after the swap is not disclosed (403)', async () => {
    swapBefore('stat', (p) => p.endsWith('inner.txt'), swapAOutside);
    await expectError(fx.storage.stat('a/b/inner.txt'), ForbiddenError, 403);
  });

  it('DELETE, MKDIR, PUT: the folder is re-checked right before the write (403), outside untouched', async () => {
    const folderCheck = (p: string) => p === fx.at('a/b');
    swapBefore('lstat', folderCheck, swapAOutside);
    await expectError(fx.storage.deleteFile('a/b/inner.txt'), ForbiddenError, 403);
    await outsideUntouched();

    await restore();
    swapBefore('lstat', folderCheck, swapAOutside);
    await expectError(fx.storage.makeDirectory('a/b/new'), ForbiddenError, 403);
    await outsideUntouched();

    await restore();
    swapBefore('lstat', folderCheck, swapAOutside);
    await expectError(fx.storage.beginUpload('a/b/new.txt', 3), ForbiddenError, 403);
    await outsideUntouched();
  });

  it('PUT: a swap while the bytes arrive stops the commit (403); the outside file keeps its content', async () => {
    const upload = await fx.storage.beginUpload('a/b/inner.txt', 3);
    upload.stream.end('new');
    await swapAOutside();
    await expectError(upload.commit(), ForbiddenError, 403);
    await outsideUntouched();
  });
});

async function restore(): Promise<void> {
  jest.restoreAllMocks();
  await fsp.rm(fx.at('a'));
  await fsp.rename(fx.at('a-old'), fx.at('a'));
}

describe('the home pinned at login', () => {
  let home: StringPathStorage;
  beforeEach(async () => {
    home = await localStrings(fx.at('a'));
  });

  const everyOperation = (): Array<() => Promise<unknown>> => [
    () => home.list(undefined),
    () => home.list('b'),
    () => home.stat('/'),
    () => home.stat('b/inner.txt'),
    () => home.openRead('b/inner.txt'),
    () => home.beginUpload('b/up.txt', 1),
    () => home.deleteFile('b/inner.txt'),
    () => home.makeDirectory('b/made'),
    () => home.removeDirectory('b'),
    () => home.rename('b/inner.txt', 'b/renamed.txt'),
  ];

  async function expectAllRefused(): Promise<void> {
    for (const operation of everyOperation()) {
      const err = await expectError(operation(), ForbiddenError, 403);
      expect(err.message).toBe(HOME_CHANGED_MESSAGE);
    }
    expect(await home.readSmall('b/inner.txt', 1024)).toBeUndefined();
  }

  it('refuses everything once the home is replaced by a link out of the root', async () => {
    await swapAOutside();
    await expectAllRefused();
    await outsideUntouched();
  });

  it('refuses everything once another folder takes the home name, and works again when it is back', async () => {
    await fsp.rename(fx.at('a'), fx.at('a-old'));
    await fsp.mkdir(fx.at('a/b'), { recursive: true });
    await fsp.writeFile(fx.at('a/b/inner.txt'), 'someone else');
    await expectAllRefused();
    expect(await fsp.readFile(fx.at('a/b/inner.txt'), 'utf8')).toBe('someone else');

    await fsp.rm(fx.at('a'), { recursive: true });
    await fsp.rename(fx.at('a-old'), fx.at('a'));
    expect((await home.list('b')).map((e) => e.name)).toEqual(['inner.txt']);
    expect((await home.readSmall('b/inner.txt', 1024))?.data.toString()).toBe('inside');
  });

  it('refuses everything once the home is moved away (nothing at its path)', async () => {
    await fsp.rename(fx.at('a'), fx.at('a-old'));
    await expectAllRefused();
    expect(await onDisk(fx.at('a-old/b'))).toEqual(['inner.txt']);
  });
});

describe('RootGuard.assertOpenedInside', () => {
  it('passes a descriptor inside the root and refuses one outside', async () => {
    const guard = new RootGuard(fx.rootDir, identityOf(await fsp.stat(fx.rootDir, { bigint: true })));
    const inside = await fsp.open(fx.at('a/b/inner.txt'), 'r');
    const outside = await fsp.open(path.join(fx.evil, 'secret.txt'), 'r');
    try {
      const id = async (h: fsp.FileHandle) => identityOf(await h.stat({ bigint: true }));
      await expect(guard.assertOpenedInside(inside.fd, fx.at('a/b/inner.txt'), await id(inside))).resolves.toBeUndefined();
      // The path string claims to be inside; the descriptor says otherwise.
      await expect(guard.assertOpenedInside(outside.fd, fx.at('a/b/inner.txt'), await id(outside))).rejects.toMatchObject({ kind: 'forbidden' });
    } finally {
      await inside.close();
      await outside.close();
    }
  });
});

describe('RootGuard.readFolder', () => {
  // The window the race tests hit now and then under load: LS resolved `a/b`
  // as a folder, then a local user swapped a link (or a file) into its
  // place before the folder was opened. Opening with O_DIRECTORY|O_NOFOLLOW
  // fails with ENOTDIR there, which once answered 409 "not a folder".
  for (const swapped of ['a link out of the root', 'a file'] as const) {
    it(`refuses as changed underfoot when ${swapped} replaced the resolved folder`, async () => {
      const guard = new RootGuard(fx.rootDir, identityOf(await fsp.stat(fx.rootDir, { bigint: true })));
      const real = fx.at('a/b');
      const folder = { real, identity: identityOf(await fsp.stat(real, { bigint: true })) };
      await fsp.rename(real, fx.at('a/b-away'));
      if (swapped === 'a file') await fsp.writeFile(real, 'x');
      else await fsp.symlink(path.join(fx.evil, 'b'), real);
      let read = false;
      await expect(guard.readFolder(folder, async () => { read = true; })).rejects.toMatchObject({ kind: 'forbidden', message: CHANGED_MESSAGE });
      expect(read).toBe(false);
    });
  }
});
