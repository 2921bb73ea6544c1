/**
 * Issue 10, "also seen": a nested home's upload in flight and the parent
 * user's RMDIR; free space with uploads in flight; LS over the frame limit.
 * Each over a real server and real sockets.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MESSAGES } from '../../src/storage/fs-errors';
import { startAuthServer } from '../auth/auth-server';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer } from '../helpers/test-server';

jest.setTimeout(30_000);

const ALICE = { name: 'alice', password: 'alice-password', home: '/' };
const BOB = { name: 'bob', password: 'bob-password-1' };

async function login(port: number, user: { name: string; password: string }): Promise<RawConnection> {
  const { conn } = await RawConnection.open(port);
  expect(await conn.request('AUTH', { username: user.name, password: user.password })).toMatchObject({ code: 200 });
  return conn;
}

it("a parent user's RMDIR does not take a nested home's upload in flight for stale (409), and the upload lands", async () => {
  const srv = await startAuthServer({ users: [ALICE, BOB] });
  try {
    const bob = await login(srv.port, BOB);
    const alice = await login(srv.port, ALICE);
    const data = Buffer.alloc(64 * 1024, 0x62);
    expect(await bob.request('PUT', { filename: 'big.bin', size: data.length })).toMatchObject({ code: 150 });
    bob.write(data.subarray(0, data.length / 2));
    // Bob's home holds only his temp file, which no listing shows.
    expect(await alice.request('LS', { path: 'bob' })).toMatchObject({ code: 200, files: [] });
    expect(await alice.request('RMDIR', { path: 'bob' })).toMatchObject({ code: 409, message: MESSAGES.notEmpty });
    bob.write(data.subarray(data.length / 2));
    expect(await bob.frame()).toMatchObject({ code: 226, bytes_received: data.length });
    expect((await fs.readFile(path.join(srv.root, 'bob', 'big.bin'))).equals(data)).toBe(true);
    bob.close();
    alice.close();
  } finally {
    await srv.stop();
  }
});

it('answers 507 before any byte when uploads already in flight will take the free space', async () => {
  const t = await startTestServer({ limits: { maxUploadSize: Number.MAX_SAFE_INTEGER } });
  try {
    const space = await fs.statfs(t.root);
    // Each fits alone; both together do not (wide margins: the disk is shared).
    const size = Math.floor(space.bavail * space.bsize * 0.6);
    const first = (await RawConnection.open(t.port)).conn;
    const second = (await RawConnection.open(t.port)).conn;
    expect(await first.request('PUT', { filename: 'one.bin', size })).toMatchObject({ code: 150 });
    expect(await second.request('PUT', { filename: 'two.bin', size })).toMatchObject({ code: 507 });
    first.close(); // the upload is abandoned: its reservation goes with it
    const deadline = Date.now() + 5_000;
    let reply: Record<string, unknown> = {};
    while (Date.now() < deadline) {
      reply = await second.request('PUT', { filename: 'two.bin', size });
      if (reply.code !== 507) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(reply).toMatchObject({ code: 150 });
    second.close();
  } finally {
    await t.stop();
  }
});

it('refuses a listing that cannot fit the reply frame with 413, and the session goes on', async () => {
  const t = await startTestServer({ limits: { maxServerFrameBytes: 4_096 } });
  try {
    await fs.mkdir(path.join(t.root, 'many'));
    for (let i = 0; i < 100; i++) await t.put(`many/entry-${String(i).padStart(3, '0')}.txt`, 'x');
    await fs.mkdir(path.join(t.root, 'few'));
    for (let i = 0; i < 20; i++) await t.put(`few/entry-${i}.txt`, 'x');
    const { conn } = await RawConnection.open(t.port);
    expect(await conn.request('LS', { path: 'many' })).toEqual({ type: 'response', code: 413, message: MESSAGES.listingTooLarge });
    expect(await conn.request('LS', { path: 'few' })).toMatchObject({ code: 200, message: '20 entries' });
    conn.close();
  } finally {
    await t.stop();
  }
});
