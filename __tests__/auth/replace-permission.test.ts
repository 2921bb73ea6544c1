/**
 * Issue 10, finding 3: replacing a file destroys it, so it needs `delete`.
 * carol (read, rename) replaced important.txt with RENAME; dave (write)
 * emptied it with an empty PUT. Now both get 403 and the file keeps its
 * content; with `delete` both work; and a file that appears while an upload
 * without `delete` is in flight is not replaced by its commit either.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MESSAGES } from '../../src/storage/fs-errors';
import { RawConnection } from '../helpers/raw-connection';
import { startAuthServer, type AuthServer } from './auth-server';

const REFUSED = { type: 'response', code: 403, message: MESSAGES.replaceNeedsDelete };
const users = [
  { name: 'carol', password: 'carol-password', home: '/', permissions: ['read', 'rename'] as const },
  { name: 'dave', password: 'dave-password', home: '/', permissions: ['write'] as const },
  { name: 'erin', password: 'erin-password', home: '/', permissions: ['read', 'rename', 'delete'] as const },
  { name: 'frank', password: 'frank-password', home: '/', permissions: ['write', 'delete'] as const },
];

let srv: AuthServer;
beforeEach(async () => {
  srv = await startAuthServer({
    users: users.map((u) => ({ ...u, permissions: [...u.permissions] })),
    prepare: async ({ root }) => {
      await fs.writeFile(path.join(root, 'important.txt'), 'precious');
      await fs.writeFile(path.join(root, 'junk.txt'), 'junk');
    },
  });
});
afterEach(() => srv.stop());

async function as(name: string): Promise<RawConnection> {
  const user = users.find((u) => u.name === name)!;
  const { conn } = await RawConnection.open(srv.port);
  expect(await conn.request('AUTH', { username: user.name, password: user.password })).toMatchObject({ code: 200 });
  return conn;
}

const content = (name: string) => fs.readFile(path.join(srv.root, name), 'utf8');

/** PUT `data` as `name`: the 150, then the bytes, then the final answer. */
async function put(conn: RawConnection, name: string, data: string): Promise<Record<string, unknown>> {
  const first = await conn.request('PUT', { filename: name, size: Buffer.byteLength(data) });
  if (first.code !== 150) return first;
  conn.write(data);
  return conn.frame();
}

it('carol (read, rename) cannot replace a file with RENAME: 403, both files as they were', async () => {
  const carol = await as('carol');
  expect(await carol.request('RENAME', { from: 'junk.txt', to: 'important.txt' })).toEqual(REFUSED);
  expect(await content('important.txt')).toBe('precious');
  expect(await content('junk.txt')).toBe('junk');
  // Renaming to a free name needs no delete.
  expect(await carol.request('RENAME', { from: 'junk.txt', to: 'junk-2.txt' })).toMatchObject({ code: 200 });
  carol.close();
});

it('dave (write) cannot replace a file with PUT, not even an empty one: 403 before any byte', async () => {
  const dave = await as('dave');
  expect(await dave.request('PUT', { filename: 'important.txt', size: 0 })).toEqual(REFUSED);
  expect(await content('important.txt')).toBe('precious');
  expect(await put(dave, 'new.txt', 'mine')).toMatchObject({ code: 226 });
  expect(await dave.request('PUT', { filename: 'new.txt', size: 1 })).toEqual(REFUSED);
  expect(await content('new.txt')).toBe('mine');
  dave.close();
});

it('with delete, both replace as before', async () => {
  const erin = await as('erin');
  expect(await erin.request('RENAME', { from: 'junk.txt', to: 'important.txt' })).toMatchObject({ code: 200 });
  expect(await content('important.txt')).toBe('junk');
  const frank = await as('frank');
  expect(await put(frank, 'important.txt', '')).toMatchObject({ code: 226 });
  expect(await content('important.txt')).toBe('');
  erin.close();
  frank.close();
});

it('a file that appears while dave uploads is not replaced by the commit (403 after the payload)', async () => {
  const dave = await as('dave');
  expect(await dave.request('PUT', { filename: 'late.txt', size: 4 })).toMatchObject({ code: 150 });
  const erin = await as('erin');
  expect(await erin.request('RENAME', { from: 'junk.txt', to: 'late.txt' })).toMatchObject({ code: 200 });
  dave.write('dave');
  expect(await dave.frame()).toEqual(REFUSED);
  expect(await content('late.txt')).toBe('junk');
  expect((await fs.readdir(srv.root)).filter((n) => n.startsWith('.ftp-upload-'))).toEqual([]);
  // Still in step.
  expect(await dave.request('PUT', { filename: 'other.txt', size: 0 })).toMatchObject({ code: 150 });
  expect(await dave.frame()).toMatchObject({ code: 226 });
  dave.close();
  erin.close();
});
