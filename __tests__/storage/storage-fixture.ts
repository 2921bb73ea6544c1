import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProtocolError } from '../../src/protocol/errors';
import { LocalStorage } from '../../src/storage/local-storage';

/**
 * A temp folder holding two siblings, `root` (served) and `root_evil` (the
 * outside world, whose name shares the root's prefix), plus a storage on
 * `root`.
 */
export interface StorageFixture {
  base: string;
  rootDir: string;
  evil: string;
  storage: LocalStorage;
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
  const storage = await LocalStorage.create(rootDir, { createRoot: true });
  return {
    base,
    rootDir,
    evil,
    storage,
    at: (rel) => path.join(rootDir, rel),
    cleanup: () => fsp.rm(base, { recursive: true, force: true }),
  };
}

/**
 * Await `promise`, expect it to reject with `errorClass` and `code`, and
 * return the error. Also checks that the message holds no server path.
 */
export async function expectError(
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => ProtocolError,
  code: number,
): Promise<ProtocolError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected ${errorClass.name} (${code}), but it succeeded`);
  expect(caught).toBeInstanceOf(errorClass);
  const err = caught as ProtocolError;
  expect(err.code).toBe(code);
  expect(err.message).not.toContain(os.tmpdir());
  return err;
}

/** Names in a real folder, sorted: what is really on disk, temp files included. */
export async function onDisk(folder: string): Promise<string[]> {
  return (await fsp.readdir(folder)).sort();
}

/** Read all of an open handle from position 0. */
export async function readAll(handle: fsp.FileHandle, size: number): Promise<string> {
  const buffer = Buffer.alloc(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset).toString();
}
