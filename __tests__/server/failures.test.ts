import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { LocalStorage } from '../../src/storage/local-storage';
import type { PendingUpload, Storage } from '../../src/storage/storage';
import { RawConnection } from '../helpers/raw-connection';

let dir: string;
let server: FileServer | undefined;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-fail-'));
});
afterEach(async () => {
  await server?.close(500);
  server = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

/** A real storage with some operations replaced, to provoke failures on demand. */
async function storageWith(overrides: Partial<Storage>): Promise<Storage> {
  const real = await LocalStorage.create(dir);
  return new Proxy(real, {
    get(target, key, receiver) {
      if (key in overrides) return overrides[key as keyof Storage];
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

it('turns an unexpected error into a bare 500 for that command; the log has the detail; the session goes on', async () => {
  const log = new MemoryLog();
  const storage = await storageWith({
    list: async () => {
      throw new Error('boom at /srv/secret/inner/path');
    },
  });
  server = await FileServer.start({ root: dir, storage, host: '127.0.0.1', port: 0, log });
  const { conn } = await RawConnection.open(server.port);
  const reply = await conn.request('LS');
  expect(reply).toEqual({ type: 'response', code: 500, message: 'Internal server error' });
  expect(JSON.stringify(reply)).not.toContain('secret');
  expect(log.lines.some((l) => l.level === 'ERROR' && l.message.startsWith('LS: Internal error') && l.message.includes('boom'))).toBe(true);
  expect(await conn.request('STAT', { filename: '/' })).toMatchObject({ code: 200 });
  conn.close();
});

it('answers 507 after the payload when the disk fills mid-upload, discards the upload, and goes on', async () => {
  let aborted = 0;
  let committed = 0;
  const storage = await storageWith({
    beginUpload: async (): Promise<PendingUpload> => {
      let written = 0;
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          written += chunk.length;
          callback(written > 1000 ? Object.assign(new Error('write failed'), { code: 'ENOSPC' }) : null);
        },
      });
      return {
        stream,
        commit: async () => {
          committed += 1;
          return { versionKey: 'never' };
        },
        abort: async () => {
          aborted += 1;
        },
      };
    },
  });
  server = await FileServer.start({ root: dir, storage, host: '127.0.0.1', port: 0 });
  const { conn } = await RawConnection.open(server.port);
  expect(await conn.request('PUT', { filename: 'big.bin', size: 50_000 })).toMatchObject({ code: 150 });
  for (let i = 0; i < 50; i++) conn.write(Buffer.alloc(1000, i));
  expect(await conn.frame()).toMatchObject({ type: 'response', code: 507 });
  expect(committed).toBe(0);
  expect(aborted).toBe(1);
  // The whole payload was consumed: the next frame is read in step.
  expect(await conn.request('LS')).toMatchObject({ code: 200 });
  conn.close();
});

it('answers 413 when a listing would not fit in one server frame', async () => {
  for (let i = 0; i < 40; i++) await fs.writeFile(path.join(dir, `file-with-a-longish-name-${i}.txt`), '');
  server = await FileServer.start({ root: dir, host: '127.0.0.1', port: 0, limits: { maxServerFrameBytes: 2_000 } });
  const { conn } = await RawConnection.open(server.port);
  expect(await conn.request('LS')).toMatchObject({ code: 413 });
  expect(await conn.request('STAT', { filename: 'file-with-a-longish-name-1.txt' })).toMatchObject({ code: 200 });
  conn.close();
});
