/**
 * The storage contract (issue 11): one suite every backend runs through its
 * own factory. It covers every method, every error kind a backend raises on
 * the designed paths, the path rules and confinement (scope() cannot be left),
 * listings, atomic visibility of uploads, `replace: false`, and what the
 * capabilities promise. Backend-specific expectations hide behind
 * `storage.capabilities`; anything only one backend does belongs in that
 * backend's own test file.
 *
 * Each test gets a fresh fixture (an empty root) and cleans it up.
 */
import { createHash, randomBytes } from 'node:crypto';
import { StorageError, type StorageErrorKind } from '../../src/storage/errors';
import { parseClientPath, type StoragePath } from '../../src/storage/path-rules';
import { type PendingUpload, type Storage } from '../../src/storage/storage';

/** What a backend's test file hands the suite for each test. */
export interface ContractFixture {
  /** A storage on an empty root. */
  storage: Storage;
  /** Create a file (bytes) or a folder ('dir') at a client path, behind the storage's back. */
  seed(path: string, content: Buffer | 'dir'): Promise<void>;
  /**
   * Make `path` a name inside the root that leads outside it: a link to the
   * outside folder (which holds `secret.txt` and a folder `sub`), to the
   * outside `secret.txt`, or to a missing name out there. Absent for
   * backends that have no links (an object store): they have no way out to
   * test beyond the path rules and scope().
   */
  linkOutside?(path: string, to: 'dir' | 'file' | 'missing'): Promise<void>;
  /** Remove everything the test made (and check that nothing outside the root changed). */
  cleanup(): Promise<void>;
}

const p = (raw: string): StoragePath => parseClientPath(raw);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Resolves with the rejection's StorageError kind, failing when it resolved or threw something else. */
async function kindOf(promise: Promise<unknown>): Promise<StorageErrorKind> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StorageError) return err.kind;
    throw new Error(`expected a StorageError, got ${String(err)}`);
  }
  throw new Error('expected a StorageError, but it succeeded');
}

/** Write `data` into an upload's stream (honouring backpressure) and end it. */
export async function writeAll(upload: PendingUpload, data: Buffer, chunkSize = 64 * 1024): Promise<void> {
  const stream = upload.stream;
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    let offset = 0;
    const pump = () => {
      while (offset < data.length) {
        const chunk = data.subarray(offset, offset + chunkSize);
        offset += chunk.length;
        if (!stream.write(chunk)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end(() => resolve());
    };
    pump();
  });
}

/** A whole upload: begin, write, end, commit with the digest. */
export async function putFile(storage: Storage, path: string, data: Buffer, replace = true): Promise<string> {
  const upload = await storage.beginUpload(p(path), { size: data.length, replace });
  await writeAll(upload, data);
  return (await upload.commit({ sha256: sha256(data), bytes: data.length })).versionKey;
}

/** Every byte of [start, end) of the file, through one DownloadSource. */
export async function readFile(storage: Storage, path: string, start = 0, end?: number): Promise<Buffer> {
  const source = await storage.openRead(p(path));
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of source.createReadStream(start, end ?? source.size)) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    await source.close();
  }
}

/** Byte equality without jest's element-by-element diff of big buffers (slow, unreadable). */
export function expectBytes(got: Buffer, want: Buffer): void {
  expect({ length: got.length, sha256: sha256(got) }).toEqual({ length: want.length, sha256: sha256(want) });
}

async function names(storage: Storage, path: string): Promise<string[]> {
  return (await storage.list(p(path))).map((entry) => entry.name);
}

/** Register the contract suite for one backend. */
export function describeStorageContract(name: string, factory: () => Promise<ContractFixture>): void {
  describe(`storage contract: ${name}`, () => {
    let fx: ContractFixture;
    let storage: Storage;
    beforeEach(async () => {
      fx = await factory();
      storage = fx.storage;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    describe('path rules', () => {
      it.each(['', '..', 'a/../b', './a', 'a\\b', 'a\0b'])('refuses %j as invalid_path', async (raw) => {
        expect(await kindOf(Promise.resolve().then(() => parseClientPath(raw)))).toBe('invalid_path');
      });
      it('refuses a part over 255 bytes and a path over 4,096 bytes', async () => {
        expect(await kindOf(Promise.resolve().then(() => parseClientPath('x'.repeat(256))))).toBe('invalid_path');
        expect(await kindOf(Promise.resolve().then(() => parseClientPath('a/'.repeat(2049))))).toBe('invalid_path');
      });
      it('refuses a temporary upload name as forbidden', async () => {
        expect(await kindOf(Promise.resolve().then(() => parseClientPath('d/.ftp-upload-0123456789abcdef.tmp')))).toBe('forbidden');
      });
    });

    describe('list', () => {
      it('lists an empty root as no entries', async () => {
        expect(await storage.list(p('/'))).toEqual([]);
      });

      it('sorts by code point, shows dotfiles and folders, with sizes and times', async () => {
        const before = Date.now();
        for (const file of ['b', 'a', 'B', '\uFF01', '\u{1F600}', 'a.txt', '.hidden']) await fx.seed(file, Buffer.from(file));
        await fx.seed('dir', 'dir');
        const entries = await storage.list(p('/'));
        expect(entries.map((e) => e.name)).toEqual(['.hidden', 'B', 'a', 'a.txt', 'b', 'dir', '\uFF01', '\u{1F600}']);
        const smile = entries.find((e) => e.name === '\u{1F600}')!;
        expect(smile).toMatchObject({ type: 'file', size: 4 });
        // Wide bounds: the backend's clock, whole-second times, a busy machine.
        expect(Math.abs(smile.mtime.getTime() - before)).toBeLessThan(10 * 60_000);
        expect(entries.find((e) => e.name === 'dir')).toMatchObject({ type: 'dir', size: 0 });
      });

      it('shows an empty folder made by makeDirectory, and lists it as empty', async () => {
        await storage.makeDirectory(p('empty'));
        expect(await storage.list(p('/'))).toEqual([expect.objectContaining({ name: 'empty', type: 'dir', size: 0 })]);
        expect(await storage.list(p('empty'))).toEqual([]);
      });

      it('lists only the direct children of a folder', async () => {
        await fx.seed('d', 'dir');
        await fx.seed('d/e', 'dir');
        await fx.seed('d/e/deep.txt', Buffer.from('deep'));
        await fx.seed('d/top.txt', Buffer.from('top'));
        await fx.seed('outside.txt', Buffer.from('x'));
        expect(await names(storage, 'd')).toEqual(['e', 'top.txt']);
        expect(await names(storage, '/d/e/')).toEqual(['deep.txt']);
      });

      it('answers not_found for a missing folder and not_folder for a file', async () => {
        await fx.seed('file.txt', Buffer.from('x'));
        expect(await kindOf(storage.list(p('missing')))).toBe('not_found');
        expect(await kindOf(storage.list(p('file.txt')))).toBe('not_folder');
      });

      it('stops with too_large past maxReplyBytes, and lists the same folder within a larger budget', async () => {
        await fx.seed('many', 'dir');
        for (let i = 0; i < 30; i++) await fx.seed(`many/file-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`, Buffer.from('1'));
        expect(await kindOf(storage.list(p('many'), { maxReplyBytes: 1_000 }))).toBe('too_large');
        expect(await storage.list(p('many'), { maxReplyBytes: 100_000 })).toHaveLength(30);
      });
    });

    describe('stat', () => {
      it('describes the root, a file and a folder', async () => {
        await fx.seed('f.bin', Buffer.alloc(1234, 7));
        await fx.seed('d', 'dir');
        expect(await storage.stat(p('/'))).toMatchObject({ name: '/', type: 'dir', size: 0 });
        expect(await storage.stat(p('f.bin'))).toMatchObject({ name: 'f.bin', type: 'file', size: 1234 });
        expect(await storage.stat(p('/d/'))).toMatchObject({ name: 'd', type: 'dir', size: 0 });
      });

      it('agrees with the listing on size and time', async () => {
        // Many files: a millisecond rounded one way here and the other way
        // there disagrees on about half of them, so one file could pass by luck.
        for (let i = 0; i < 24; i++) await fx.seed(`same-${String(i).padStart(2, '0')}.txt`, Buffer.from('same'.repeat(i)));
        const listed = await storage.list(p('/'));
        expect(listed).toHaveLength(24);
        const stated = await Promise.all(listed.map((entry) => storage.stat(p(entry.name))));
        expect(stated).toEqual(listed);
      });

      it('answers not_found for a missing name and for a name below a file', async () => {
        await fx.seed('file.txt', Buffer.from('x'));
        expect(await kindOf(storage.stat(p('missing')))).toBe('not_found');
        expect(await kindOf(storage.stat(p('file.txt/below')))).toBe('not_found');
      });
    });

    describe('uploads', () => {
      it('round-trips the bytes, and the commit reports the version openRead sees', async () => {
        const data = randomBytes(300_000);
        const versionKey = await putFile(storage, 'round.bin', data);
        expectBytes(await readFile(storage, 'round.bin'), data);
        const source = await storage.openRead(p('round.bin'));
        expect(source.size).toBe(data.length);
        expect(source.versionKey).toBe(versionKey);
        if (source.storedSha256 !== undefined) expect(source.storedSha256).toBe(sha256(data));
        await source.close();
      });

      it('stores an empty file', async () => {
        await putFile(storage, 'empty.txt', Buffer.alloc(0));
        expect(await storage.stat(p('empty.txt'))).toMatchObject({ type: 'file', size: 0 });
        expect(await readFile(storage, 'empty.txt')).toEqual(Buffer.alloc(0));
      });

      it('copes with a size not announced in advance (FTP STOR)', async () => {
        const data = randomBytes(70_000);
        const upload = await storage.beginUpload(p('unsized.bin'), { replace: true });
        await writeAll(upload, data, 10_000);
        await upload.commit({ sha256: sha256(data), bytes: data.length });
        expectBytes(await readFile(storage, 'unsized.bin'), data);
      });

      it('shows nothing before commit: no new name, and the old content stays', async () => {
        await fx.seed('old.txt', Buffer.from('old content'));
        const fresh = await storage.beginUpload(p('new.txt'), { size: 3, replace: true });
        const replacing = await storage.beginUpload(p('old.txt'), { size: 3, replace: true });
        await writeAll(fresh, Buffer.from('new'));
        await writeAll(replacing, Buffer.from('new'));
        expect(await names(storage, '/')).toEqual(['old.txt']);
        expect(await kindOf(storage.stat(p('new.txt')))).toBe('not_found');
        expect((await readFile(storage, 'old.txt')).toString()).toBe('old content');
        await fresh.commit({ sha256: sha256(Buffer.from('new')), bytes: 3 });
        await replacing.commit({ sha256: sha256(Buffer.from('new')), bytes: 3 });
        expect((await readFile(storage, 'old.txt')).toString()).toBe('new');
        expect((await readFile(storage, 'new.txt')).toString()).toBe('new');
      });

      it('abort leaves the target untouched and nothing behind, and may be called twice', async () => {
        await fx.seed('keep.txt', Buffer.from('keep'));
        const upload = await storage.beginUpload(p('keep.txt'), { size: 5, replace: true });
        await writeAll(upload, Buffer.from('other'));
        await upload.abort();
        await upload.abort();
        const ghost = await storage.beginUpload(p('ghost.txt'), { replace: true });
        ghost.stream.write(Buffer.from('half'));
        await ghost.abort();
        expect((await readFile(storage, 'keep.txt')).toString()).toBe('keep');
        expect(await names(storage, '/')).toEqual(['keep.txt']);
      });

      it('replace: false refuses an existing file (permission_denied) and keeps it', async () => {
        await fx.seed('taken.txt', Buffer.from('first'));
        const refused = await kindOf(putFile(storage, 'taken.txt', Buffer.from('second'), false));
        expect(refused).toBe('permission_denied');
        expect((await readFile(storage, 'taken.txt')).toString()).toBe('first');
        await putFile(storage, 'free.txt', Buffer.from('fine'), false);
        expect((await readFile(storage, 'free.txt')).toString()).toBe('fine');
      });

      it('replace: false holds at commit against a file created after beginUpload', async () => {
        const upload = await storage.beginUpload(p('race.txt'), { size: 4, replace: false });
        await putFile(storage, 'race.txt', Buffer.from('winner'));
        await writeAll(upload, Buffer.from('late'));
        expect(await kindOf(upload.commit({ sha256: sha256(Buffer.from('late')), bytes: 4 }))).toBe('permission_denied');
        expect((await readFile(storage, 'race.txt')).toString()).toBe('winner');
      });

      it('refuses the root and a folder (is_folder), a missing parent (not_found), a file as parent (not_folder)', async () => {
        await fx.seed('d', 'dir');
        await fx.seed('file.txt', Buffer.from('x'));
        expect(await kindOf(storage.beginUpload(p('/'), { size: 1, replace: true }))).toBe('is_folder');
        expect(await kindOf(storage.beginUpload(p('d'), { size: 1, replace: true }))).toBe('is_folder');
        expect(await kindOf(storage.beginUpload(p('nope/x.txt'), { size: 1, replace: true }))).toBe('not_found');
        expect(await kindOf(storage.beginUpload(p('file.txt/x.txt'), { size: 1, replace: true }))).toBe('not_folder');
      });

      it('refuses, before a byte is sent, an upload larger than the backend can hold (no_space or too_large)', async () => {
        // 4 PiB: more than any test disk has free, and than S3's 5 TiB objects.
        const kind = await kindOf(storage.beginUpload(p('huge.bin'), { size: 2 ** 52, replace: true }));
        expect(['no_space', 'too_large']).toContain(kind);
        expect(await storage.list(p('/'))).toEqual([]);
      });

      it('refuses a path longer than the backend can hold with name_too_long, and keeps what fits', async () => {
        // Within the path rules (4,080 bytes), beyond any backend: PATH_MAX
        // (4,096 with the root's own path before it) on a disk, 1,024-byte
        // keys on S3. Parts of 200 bytes, not 255: s3rver keeps an object as
        // a file named after the last part plus a suffix.
        const parts = [...Array.from({ length: 20 }, (_, i) => String.fromCharCode(97 + i).repeat(200)), 'z'.repeat(60)];
        let made = 0;
        let refused: StorageErrorKind | undefined;
        for (; made < parts.length; made++) {
          const making = storage.makeDirectory(p(parts.slice(0, made + 1).join('/')));
          if (await making.then(() => true, () => false)) continue;
          refused = await kindOf(making);
          break;
        }
        expect(refused).toBe('name_too_long');
        expect(made).toBeGreaterThan(0);
        if (made > 1) expect(await names(storage, parts.slice(0, made - 1).join('/'))).toEqual([parts[made - 1]]);
        expect(await kindOf(putFile(storage, parts.join('/'), Buffer.from('x')))).toMatch(/^(name_too_long|not_found)$/);
      });

      it('resumes at an offset when resumableUploads, else refuses it (not_supported) and changes nothing', async () => {
        await fx.seed('partial.bin', Buffer.from('abc'));
        if (storage.capabilities.resumableUploads) {
          const upload = await storage.beginUpload(p('partial.bin'), { offset: 3, replace: true });
          await writeAll(upload, Buffer.from('def'));
          await upload.commit({ sha256: sha256(Buffer.from('abcdef')), bytes: 3 });
          expect((await readFile(storage, 'partial.bin')).toString()).toBe('abcdef');
          // Nothing to resume, or a resume past the end: refused, nothing changed.
          expect(await kindOf(storage.beginUpload(p('absent.bin'), { offset: 3, replace: true }))).toBe('not_found');
          expect(await kindOf(storage.beginUpload(p('partial.bin'), { offset: 7, replace: true }))).toBe('not_supported');
          expect((await readFile(storage, 'partial.bin')).toString()).toBe('abcdef');
          expect(await names(storage, '/')).toEqual(['partial.bin']);
        } else {
          expect(await kindOf(storage.beginUpload(p('partial.bin'), { offset: 3, replace: true }))).toBe('not_supported');
          expect((await readFile(storage, 'partial.bin')).toString()).toBe('abc');
        }
      });
    });

    describe('downloads', () => {
      it('streams any range [start, end) of the file, the empty one included', async () => {
        const data = randomBytes(50_000);
        await fx.seed('r.bin', data);
        expectBytes(await readFile(storage, 'r.bin', 2, 5), data.subarray(2, 5));
        expectBytes(await readFile(storage, 'r.bin', 49_000), data.subarray(49_000));
        expect(await readFile(storage, 'r.bin', 50_000)).toEqual(Buffer.alloc(0));
      });

      it('reads positionally where it offers read(), and lends a descriptor only as a number', async () => {
        const data = randomBytes(10_000);
        await fx.seed('pos.bin', data);
        const source = await storage.openRead(p('pos.bin'));
        try {
          if (source.fd !== undefined) expect(Number.isInteger(source.fd)).toBe(true);
          if (!source.read) return;
          const buffer = Buffer.alloc(100, 0xff);
          expect(await source.read(buffer, 10, 50, 9_000)).toBe(50);
          expectBytes(buffer.subarray(10, 60), data.subarray(9_000, 9_050));
          expect(buffer.subarray(0, 10).every((b) => b === 0xff)).toBe(true);
          expect(await source.read(buffer, 0, 100, 9_990)).toBe(10);
          expect(await source.read(buffer, 0, 100, 10_000)).toBe(0);
        } finally {
          await source.close();
        }
      });

      it('keeps one version key per version', async () => {
        await fx.seed('v.txt', Buffer.from('one'));
        const a = await storage.openRead(p('v.txt'));
        const b = await storage.openRead(p('v.txt'));
        expect(a.versionKey).toBe(b.versionKey);
        await Promise.all([a.close(), b.close(), a.close()]);
        await putFile(storage, 'v.txt', Buffer.from('two!'));
        const c = await storage.openRead(p('v.txt'));
        expect(c.versionKey).not.toBe(a.versionKey);
        await c.close();
      });

      it('never mixes versions: a file replaced after opening yields its old bytes or an error', async () => {
        const old = Buffer.alloc(200_000, 1);
        await fx.seed('swap.bin', old);
        const source = await storage.openRead(p('swap.bin'));
        await putFile(storage, 'swap.bin', Buffer.alloc(200_000, 2));
        const chunks: Buffer[] = [];
        let failed = false;
        try {
          for await (const chunk of source.createReadStream(0, source.size)) chunks.push(chunk);
        } catch (err) {
          expect(err).toBeInstanceOf(StorageError);
          failed = true;
        } finally {
          await source.close();
        }
        const got = Buffer.concat(chunks);
        if (!failed) expectBytes(got, old);
        else expect(got.every((byte) => byte === 1)).toBe(true);
      });

      it('refuses the root and a folder (is_folder) and a missing file (not_found)', async () => {
        await fx.seed('d', 'dir');
        expect(await kindOf(storage.openRead(p('/')))).toBe('is_folder');
        expect(await kindOf(storage.openRead(p('d')))).toBe('is_folder');
        expect(await kindOf(storage.openRead(p('missing')))).toBe('not_found');
      });

      it('readSmall, where offered, returns a small file whole and leaves a bigger one to openRead', async () => {
        if (!storage.readSmall) return;
        await fx.seed('small.txt', Buffer.from('tiny'));
        await fx.seed('big.bin', Buffer.alloc(5_000, 3));
        const small = await storage.readSmall(p('small.txt'), 1_000);
        expect(small?.data.toString()).toBe('tiny');
        expect(small?.size).toBe(4);
        const opened = await storage.openRead(p('small.txt'));
        expect(small?.versionKey).toBe(opened.versionKey);
        await opened.close();
        expect(await storage.readSmall(p('big.bin'), 1_000)).toBeUndefined();
      });
    });

    describe('deleteFile', () => {
      it('deletes a file', async () => {
        await fx.seed('gone.txt', Buffer.from('x'));
        await storage.deleteFile(p('gone.txt'));
        expect(await kindOf(storage.stat(p('gone.txt')))).toBe('not_found');
      });
      it('refuses a folder and the root (is_folder) and a missing file (not_found)', async () => {
        await fx.seed('d', 'dir');
        expect(await kindOf(storage.deleteFile(p('d')))).toBe('is_folder');
        expect(await kindOf(storage.deleteFile(p('/')))).toBe('is_folder');
        expect(await kindOf(storage.deleteFile(p('missing')))).toBe('not_found');
        expect(await storage.stat(p('d'))).toMatchObject({ type: 'dir' });
      });
      it('answers not_found below a file or a missing folder', async () => {
        await fx.seed('f.txt', Buffer.from('x'));
        expect(await kindOf(storage.deleteFile(p('f.txt/x')))).toBe('not_found');
        expect(await kindOf(storage.deleteFile(p('nope/x')))).toBe('not_found');
        expect((await readFile(storage, 'f.txt')).toString()).toBe('x');
      });
    });

    describe('makeDirectory', () => {
      it('makes nested folders one level at a time', async () => {
        await storage.makeDirectory(p('a'));
        await storage.makeDirectory(p('a/b'));
        expect(await storage.stat(p('a/b'))).toMatchObject({ name: 'b', type: 'dir' });
        expect(await names(storage, 'a')).toEqual(['b']);
      });
      it('answers exists for a folder, a file and the root', async () => {
        await fx.seed('d', 'dir');
        await fx.seed('f', Buffer.from('x'));
        expect(await kindOf(storage.makeDirectory(p('d')))).toBe('exists');
        expect(await kindOf(storage.makeDirectory(p('f')))).toBe('exists');
        expect(await kindOf(storage.makeDirectory(p('/')))).toBe('exists');
      });
      it('answers not_found for a missing parent and not_folder for a file as parent', async () => {
        await fx.seed('f', Buffer.from('x'));
        expect(await kindOf(storage.makeDirectory(p('missing/d')))).toBe('not_found');
        expect(await kindOf(storage.makeDirectory(p('f/d')))).toBe('not_folder');
      });
    });

    describe('removeDirectory', () => {
      it('removes an empty folder', async () => {
        await storage.makeDirectory(p('bye'));
        await storage.removeDirectory(p('bye'));
        expect(await kindOf(storage.stat(p('bye')))).toBe('not_found');
        expect(await storage.list(p('/'))).toEqual([]);
      });
      it('refuses a folder with a file or a folder in it (not_empty), and keeps it', async () => {
        await fx.seed('full', 'dir');
        await fx.seed('full/f.txt', Buffer.from('x'));
        await fx.seed('nest', 'dir');
        await fx.seed('nest/inner', 'dir');
        expect(await kindOf(storage.removeDirectory(p('full')))).toBe('not_empty');
        expect(await kindOf(storage.removeDirectory(p('nest')))).toBe('not_empty');
        expect(await names(storage, 'full')).toEqual(['f.txt']);
        expect(await names(storage, 'nest')).toEqual(['inner']);
      });
      it('answers not_found, not_folder, and forbidden for the root', async () => {
        await fx.seed('f.txt', Buffer.from('x'));
        expect(await kindOf(storage.removeDirectory(p('missing')))).toBe('not_found');
        expect(await kindOf(storage.removeDirectory(p('f.txt')))).toBe('not_folder');
        expect(await kindOf(storage.removeDirectory(p('/')))).toBe('forbidden');
      });
    });

    describe('rename', () => {
      it('moves a file, across folders, with its bytes', async () => {
        const data = randomBytes(10_000);
        await fx.seed('from.bin', data);
        await fx.seed('d', 'dir');
        await storage.rename(p('from.bin'), p('d/to.bin'), { replace: false });
        expectBytes(await readFile(storage, 'd/to.bin'), data);
        expect(await kindOf(storage.stat(p('from.bin')))).toBe('not_found');
      });
      it('replace: false refuses an existing target (permission_denied), replace: true replaces it', async () => {
        await fx.seed('a.txt', Buffer.from('A'));
        await fx.seed('b.txt', Buffer.from('B'));
        expect(await kindOf(storage.rename(p('a.txt'), p('b.txt'), { replace: false }))).toBe('permission_denied');
        expect((await readFile(storage, 'a.txt')).toString()).toBe('A');
        expect((await readFile(storage, 'b.txt')).toString()).toBe('B');
        await storage.rename(p('a.txt'), p('b.txt'), { replace: true });
        expect((await readFile(storage, 'b.txt')).toString()).toBe('A');
        expect(await names(storage, '/')).toEqual(['b.txt']);
      });
      it('renaming a file onto itself changes nothing', async () => {
        await fx.seed('self.txt', Buffer.from('me'));
        await storage.rename(p('self.txt'), p('self.txt'), { replace: true });
        expect((await readFile(storage, 'self.txt')).toString()).toBe('me');
      });
      it('answers not_found, exists, not_folder and forbidden per the rules', async () => {
        await fx.seed('f.txt', Buffer.from('x'));
        await fx.seed('d', 'dir');
        expect(await kindOf(storage.rename(p('missing'), p('x'), { replace: true }))).toBe('not_found');
        expect(await kindOf(storage.rename(p('f.txt'), p('nope/x'), { replace: true }))).toBe('not_found');
        expect(await kindOf(storage.rename(p('f.txt'), p('f.txt/x'), { replace: true }))).toBe('not_folder');
        expect(await kindOf(storage.rename(p('f.txt'), p('d'), { replace: true }))).toBe('exists');
        expect(await kindOf(storage.rename(p('f.txt'), p('/'), { replace: true }))).toBe('exists');
        expect(await kindOf(storage.rename(p('/'), p('x'), { replace: true }))).toBe('forbidden');
        expect((await readFile(storage, 'f.txt')).toString()).toBe('x');
      });
      it('moves a folder when atomicFolderRename, else refuses it (not_supported) and changes nothing', async () => {
        await fx.seed('src', 'dir');
        await fx.seed('src/inner.txt', Buffer.from('in'));
        if (storage.capabilities.atomicFolderRename) {
          await storage.rename(p('src'), p('dst'), { replace: false });
          expect((await readFile(storage, 'dst/inner.txt')).toString()).toBe('in');
          expect(await kindOf(storage.stat(p('src')))).toBe('not_found');
          // Into itself, however deep: a move that contradicts itself.
          await storage.makeDirectory(p('dst/sub'));
          expect(await kindOf(storage.rename(p('dst'), p('dst/moved'), { replace: true }))).toBe('invalid_move');
          expect(await kindOf(storage.rename(p('dst'), p('dst/sub/moved'), { replace: true }))).toBe('invalid_move');
          expect(await names(storage, 'dst')).toEqual(['inner.txt', 'sub']);
        } else {
          expect(await kindOf(storage.rename(p('src'), p('dst'), { replace: false }))).toBe('not_supported');
          expect(await names(storage, '/')).toEqual(['src']);
          expect((await readFile(storage, 'src/inner.txt')).toString()).toBe('in');
        }
      });
    });

    describe('scope', () => {
      it('confines a scoped storage to its folder: reads, writes and listings', async () => {
        await fx.seed('home', 'dir');
        await fx.seed('home/mine.txt', Buffer.from('mine'));
        await fx.seed('home-evil', 'dir');
        await fx.seed('home-evil/theirs.txt', Buffer.from('theirs'));
        await fx.seed('secret.txt', Buffer.from('secret'));
        const home = await storage.scope(p('home'));
        expect(await home.stat(p('/'))).toMatchObject({ name: '/', type: 'dir' });
        expect(await names(home, '/')).toEqual(['mine.txt']);
        expect(await kindOf(home.stat(p('secret.txt')))).toBe('not_found');
        expect(await kindOf(home.openRead(p('home-evil/theirs.txt')))).toBe('not_found');
        await putFile(home, 'written.txt', Buffer.from('w'));
        await home.makeDirectory(p('sub'));
        expect(await names(storage, 'home')).toEqual(['mine.txt', 'sub', 'written.txt']);
        expect(await names(storage, 'home-evil')).toEqual(['theirs.txt']);
        expect(await names(storage, '/')).toEqual(['home', 'home-evil', 'secret.txt']);
        expect(await kindOf(home.removeDirectory(p('/')))).toBe('forbidden');
      });

      it('nests, and its paths cannot climb out (.. is refused before any storage sees it)', async () => {
        await fx.seed('a', 'dir');
        await fx.seed('a/b', 'dir');
        await fx.seed('a/b/deep.txt', Buffer.from('deep'));
        await fx.seed('a/up.txt', Buffer.from('up'));
        const b = await (await storage.scope(p('a'))).scope(p('b'));
        expect(await names(b, '/')).toEqual(['deep.txt']);
        expect(await kindOf(Promise.resolve().then(() => parseClientPath('../up.txt')))).toBe('invalid_path');
        expect(await kindOf(b.stat(p('/up.txt')))).toBe('not_found');
      });

      it('answers not_found for a missing folder and not_folder for a file', async () => {
        await fx.seed('f.txt', Buffer.from('x'));
        expect(await kindOf(storage.scope(p('missing')))).toBe('not_found');
        expect(await kindOf(storage.scope(p('f.txt')))).toBe('not_folder');
      });
    });

    describe('names that lead outside the root', () => {
      const withLinks = async (): Promise<boolean> => {
        if (!fx.linkOutside) return false;
        await fx.seed('a.txt', Buffer.from('inside'));
        await fx.linkOutside('out', 'dir');
        await fx.linkOutside('out-file', 'file');
        await fx.linkOutside('out-missing', 'missing');
        return true;
      };

      it('are left out of listings, and every read through them is forbidden', async () => {
        if (!(await withLinks())) return;
        expect(await names(storage, '/')).toEqual(['a.txt']);
        for (const path of ['out', 'out/sub']) expect([path, await kindOf(storage.list(p(path)))]).toEqual([path, 'forbidden']);
        for (const path of ['out', 'out/secret.txt', 'out-file', 'out-missing']) {
          expect([path, await kindOf(storage.stat(p(path)))]).toEqual([path, 'forbidden']);
        }
        for (const path of ['out/secret.txt', 'out-file', 'out-missing']) {
          expect([path, await kindOf(storage.openRead(p(path)))]).toEqual([path, 'forbidden']);
          // The fast path leaves the decision to openRead, and reads nothing.
          if (storage.readSmall) expect(await storage.readSmall(p(path), 1_000)).toBeUndefined();
        }
        expect(await kindOf(storage.scope(p('out')))).toBe('forbidden');
      });

      it('forbid every change through them, and nothing outside changes', async () => {
        if (!(await withLinks())) return;
        const attempts: Array<[string, () => Promise<unknown>]> = [
          ['upload into the outside folder', () => putFile(storage, 'out/new.txt', Buffer.from('x'))],
          ['upload over the outside file', () => putFile(storage, 'out-file', Buffer.from('x'))],
          ['upload through a dangling link', () => putFile(storage, 'out-missing', Buffer.from('x'))],
          ['resume the outside file', () => storage.beginUpload(p('out-file'), { offset: 1, replace: true })],
          ['delete the outside file', () => storage.deleteFile(p('out/secret.txt'))],
          ['make a folder outside', () => storage.makeDirectory(p('out/d'))],
          ['remove the outside folder', () => storage.removeDirectory(p('out/sub'))],
          ['move a file out', () => storage.rename(p('a.txt'), p('out/a.txt'), { replace: true })],
          ['move the outside file in', () => storage.rename(p('out/secret.txt'), p('stolen.txt'), { replace: true })],
          ['replace the outside file', () => storage.rename(p('a.txt'), p('out-file'), { replace: true })],
          ...(storage.setModificationTime ? [['touch the outside file', () => storage.setModificationTime!(p('out-file'), new Date(0))] as [string, () => Promise<unknown>]] : []),
        ];
        const kinds = [];
        for (const [what, attempt] of attempts) kinds.push([what, await kindOf(attempt())]);
        expect(kinds).toEqual(attempts.map(([what]) => [what, 'forbidden']));
        expect((await readFile(storage, 'a.txt')).toString()).toBe('inside');
        expect(await names(storage, '/')).toEqual(['a.txt']);
      });
    });

    describe('capabilities', () => {
      it('sets a modification time only when settableMtime', async () => {
        await fx.seed('t.txt', Buffer.from('x'));
        const when = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
        if (storage.capabilities.settableMtime) {
          await storage.setModificationTime!(p('t.txt'), when);
          expect((await storage.stat(p('t.txt'))).mtime.getTime()).toBe(when.getTime());
          // A time with milliseconds reads back as set, in the listing too.
          const precise = new Date(Date.UTC(2021, 5, 6, 7, 8, 9, 145));
          await storage.setModificationTime!(p('t.txt'), precise);
          expect((await storage.stat(p('t.txt'))).mtime.toISOString()).toBe(precise.toISOString());
          expect((await storage.list(p('/')))[0].mtime.toISOString()).toBe(precise.toISOString());
          await fx.seed('d', 'dir');
          expect(await kindOf(storage.setModificationTime!(p('missing'), when))).toBe('not_found');
          expect(await kindOf(storage.setModificationTime!(p('d'), when))).toBe('is_folder');
        } else if (storage.setModificationTime) {
          expect(await kindOf(storage.setModificationTime(p('t.txt'), when))).toBe('not_supported');
        }
      });

      it('removeStaleUploads, where offered, leaves this process’s uploads in flight alone', async () => {
        if (!storage.removeStaleUploads) return;
        const data = randomBytes(1_000);
        const upload = await storage.beginUpload(p('inflight.bin'), { size: data.length, replace: true });
        upload.stream.write(data.subarray(0, 500));
        expect(await storage.removeStaleUploads()).toBeGreaterThanOrEqual(0);
        await writeAll(upload, data.subarray(500));
        await upload.commit({ sha256: sha256(data), bytes: data.length });
        expectBytes(await readFile(storage, 'inflight.bin'), data);
      });
    });
  });
}
