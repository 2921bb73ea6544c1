import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProtocolError } from '../../src/protocol/errors';
import type { FileEntry } from '../../src/protocol/messages';
import { toNativeError } from '../../src/server/replies';
import { AuthError } from '../../src/auth/errors';
import { StorageError } from '../../src/storage/errors';
import { LocalStorage } from '../../src/storage/local-storage';
import { parseClientPath, ROOT_PATH } from '../../src/storage/path-rules';
import type { DownloadSource, ListOptions, PendingUpload, SmallFile, Storage } from '../../src/storage/storage';

/**
 * A storage driven with client strings, as a front end drives it: each
 * path is parsed at this boundary (the contract's rules), entries come back
 * as the native port sends them. The storage tests were written this way;
 * the storage itself takes parsed paths.
 */
export interface StringPathStorage {
  readonly inner: Storage;
  list(path?: string, options?: ListOptions): Promise<FileEntry[]>;
  stat(path: string): Promise<FileEntry>;
  readSmall(path: string, maxBytes: number): Promise<SmallFile | undefined>;
  openRead(path: string): Promise<DownloadSource>;
  beginUpload(path: string, size: number, options?: { replace?: boolean }): Promise<PendingUpload>;
  deleteFile(path: string): Promise<void>;
  makeDirectory(path: string): Promise<void>;
  removeDirectory(path: string): Promise<void>;
  rename(from: string, to: string, options?: { replace?: boolean }): Promise<void>;
  removeStaleUploads(): Promise<number>;
}

const native = (e: { name: string; type: 'file' | 'dir'; size: number; mtime: Date }): FileEntry => ({
  name: e.name,
  type: e.type,
  size: e.size,
  mtime: e.mtime.toISOString(),
});

/** `storage` behind client strings; see {@link StringPathStorage}. Parse errors reject like the storage's own. */
export function stringPaths(storage: Storage): StringPathStorage {
  const p = (raw: string) => parseClientPath(raw);
  const later = async <T>(run: () => Promise<T>): Promise<T> => run();
  return {
    inner: storage,
    list: (path, options) => later(async () => (await storage.list(path === undefined ? ROOT_PATH : p(path), options)).map(native)),
    stat: (path) => later(async () => native(await storage.stat(p(path)))),
    readSmall: (path, maxBytes) => later(async () => storage.readSmall?.(p(path), maxBytes)),
    openRead: (path) => later(() => storage.openRead(p(path))),
    beginUpload: (path, size, options) => later(() => storage.beginUpload(p(path), { size, replace: options?.replace ?? true })),
    deleteFile: (path) => later(() => storage.deleteFile(p(path))),
    makeDirectory: (path) => later(() => storage.makeDirectory(p(path))),
    removeDirectory: (path) => later(() => storage.removeDirectory(p(path))),
    rename: (from, to, options) => later(() => storage.rename(p(from), p(to), { replace: options?.replace ?? true })),
    removeStaleUploads: () => later(async () => (await storage.removeStaleUploads?.()) ?? 0),
  };
}

/** A local storage on `root`, driven with client strings. */
export async function localStrings(root: string, options?: Parameters<typeof LocalStorage.create>[1]): Promise<StringPathStorage> {
  return stringPaths(await LocalStorage.create(root, options));
}

/**
 * A temp folder holding two siblings, `root` (served) and `root_evil` (the
 * outside world, whose name shares the root's prefix), plus a storage on
 * `root`.
 */
export interface StorageFixture {
  base: string;
  rootDir: string;
  evil: string;
  /** The storage on `root`, driven with client strings. */
  storage: StringPathStorage;
  /** The same storage, as it is. */
  local: LocalStorage;
  /** Absolute path of `rel` inside the served root. */
  at(rel: string): string;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<StorageFixture> {
  const base = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'ftp-storage-')));
  const rootDir = path.join(base, 'root');
  const evil = path.join(base, 'root_evil');
  await fsp.mkdir(evil);
  await fsp.writeFile(path.join(evil, 'secret.txt'), 'outside secret');
  const local = await LocalStorage.create(rootDir, { createRoot: true });
  return {
    base,
    rootDir,
    evil,
    storage: stringPaths(local),
    local,
    at: (rel) => path.join(rootDir, rel),
    cleanup: () => fsp.rm(base, { recursive: true, force: true }),
  };
}

/**
 * Await `promise`, expect it to reject with a typed failure that the native
 * port answers with `code` (through its one table, `src/server/replies.ts`;
 * `errorClass` names the native error for the reader), and return it. Also
 * checks that the message holds no server path.
 */
export async function expectError(
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => ProtocolError,
  code: number,
): Promise<StorageError | AuthError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected ${errorClass.name} (${code}), but it succeeded`);
  if (!(caught instanceof StorageError || caught instanceof AuthError)) throw caught instanceof Error ? caught : new Error('a non-Error was thrown');
  expect(toNativeError(caught).code).toBe(code);
  expect(caught.message).not.toContain(os.tmpdir());
  return caught;
}

/** Read all of a download source from position 0. */
export async function readSource(source: DownloadSource): Promise<string> {
  const buffer = Buffer.alloc(source.size);
  let offset = 0;
  while (offset < source.size) {
    const bytesRead = await source.read!(buffer, offset, source.size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset).toString();
}

/** Names in a real folder, sorted: what is really on disk, temp files included. */
export async function onDisk(folder: string): Promise<string[]> {
  return (await fsp.readdir(folder)).sort();
}


