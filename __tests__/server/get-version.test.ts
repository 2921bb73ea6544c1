import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

/**
 * GET's `version` and `if_version` on the wire (issue 10, finding 9): what a
 * resuming client relies on so that a download is never spliced from two
 * versions of a file.
 */

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let t: TestServer;
let conn: RawConnection;

beforeEach(async () => {
  t = await startTestServer();
  ({ conn } = await RawConnection.open(t.port));
});

afterEach(async () => {
  conn.close();
  await t.stop();
});

/** A whole GET exchange; payload and trailer only after a 200. */
async function get(fields: Record<string, unknown>) {
  const header = await conn.request('GET', fields);
  if (header.code !== 200) return { header };
  const payload = await conn.bytes((header.size as number) - (header.offset as number));
  const trailer = await conn.frame();
  return { header, payload, trailer };
}

async function versionOf(filename: string): Promise<string> {
  const { header } = await get({ filename });
  expect(header.code).toBe(200);
  return header.version as string;
}

/** Set a file's times far in the past, so any later write moves them whatever the clock's grain. */
async function age(file: string): Promise<void> {
  const past = new Date('2001-02-03T04:05:06Z');
  await fs.utimes(file, past, past);
}

const small = Buffer.from('small file content\n');
const large = Buffer.alloc(300 * 1024, 7);

describe('version', () => {
  it('is an opaque 32-hex string, the same for every open of an unchanged file (small and streamed paths)', async () => {
    await t.put('small.txt', small);
    await t.put('large.bin', large);
    for (const name of ['small.txt', 'large.bin']) {
      const first = await versionOf(name);
      expect(first).toMatch(/^[0-9a-f]{32}$/);
      expect(await versionOf(name)).toBe(first);
      const { header } = await get({ filename: name, offset: 5 });
      expect(header.version).toBe(first);
      // Opaque: not the storage key, and no inode number in it.
      const st = await fs.stat(path.join(t.root, name), { bigint: true });
      expect(first).not.toContain(String(st.ino));
    }
    expect(await versionOf('small.txt')).not.toBe(await versionOf('large.bin'));
  });

  it('changes when the file is replaced by an upload, renamed over, or written in place with the same size', async () => {
    await t.put('a.bin', large);
    const v1 = await versionOf('a.bin');

    const ready = await conn.request('PUT', { filename: 'a.bin', size: large.length });
    expect(ready.code).toBe(150);
    conn.write(large);
    expect((await conn.frame()).code).toBe(226);
    const v2 = await versionOf('a.bin');
    expect(v2).not.toBe(v1);

    await t.put('other.bin', large);
    expect((await conn.request('RENAME', { from: 'other.bin', to: 'a.bin' })).code).toBe(200);
    const v3 = await versionOf('a.bin');
    expect(new Set([v1, v2, v3]).size).toBe(3);

    const file = path.join(t.root, 'a.bin');
    await age(file);
    const v4 = await versionOf('a.bin');
    const handle = await fs.open(file, 'r+');
    try {
      await handle.write(Buffer.from('changed in place'), 0, 16, 1000);
    } finally {
      await handle.close();
    }
    expect((await fs.stat(file)).size).toBe(large.length);
    const v5 = await versionOf('a.bin');
    expect(new Set([v1, v2, v3, v4, v5]).size).toBe(5);
  });
});

describe('if_version', () => {
  it('the version in hand resumes: the tail, hashed alone', async () => {
    await t.put('a.bin', large);
    const version = await versionOf('a.bin');
    const { header, payload, trailer } = await get({ filename: 'a.bin', offset: 1000, if_version: version });
    expect(header).toMatchObject({ code: 200, size: large.length, offset: 1000, version });
    expect(payload!.equals(large.subarray(1000))).toBe(true);
    expect(trailer).toMatchObject({ code: 226, bytes: large.length - 1000, sha256: sha256(large.subarray(1000)) });
  });

  it('a replaced file answers 412 and sends nothing else: the session stays in step', async () => {
    await t.put('a.bin', large);
    const old = await versionOf('a.bin');
    await t.put('a.bin', Buffer.alloc(large.length, 9));
    const refused = await conn.request('GET', { filename: 'a.bin', offset: 1000, if_version: old });
    expect(refused).toEqual({ type: 'response', code: 412, message: 'File changed since that version' });
    // The next frame answers the next command: no payload or trailer followed the 412.
    expect(await conn.request('STAT', { filename: 'a.bin' })).toMatchObject({ code: 200, file: { size: large.length } });
    expect(t.log.lines.some((l) => l.level === 'WARNING' && l.message === 'GET: File changed since that version - a.bin')).toBe(true);
  });

  it('412 takes precedence over 416: a changed, shorter file is "changed", not "offset too far"', async () => {
    await t.put('a.bin', large);
    const old = await versionOf('a.bin');
    await t.put('a.bin', small);
    expect((await conn.request('GET', { filename: 'a.bin', offset: 100_000, if_version: old })).code).toBe(412);
    const current = await versionOf('a.bin');
    // With the current version, an offset past the end is still 416.
    expect((await conn.request('GET', { filename: 'a.bin', offset: small.length + 1, if_version: current })).code).toBe(416);
  });

  it('is checked at offset 0 too, and a missing file is still 404', async () => {
    await t.put('a.txt', small);
    expect((await conn.request('GET', { filename: 'a.txt', if_version: 'f'.repeat(32) })).code).toBe(412);
    expect((await conn.request('GET', { filename: 'gone.txt', if_version: 'f'.repeat(32) })).code).toBe(404);
  });

  it('a hostile if_version is 400 before the file is opened; null means absent', async () => {
    await t.put('a.txt', small);
    for (const bad of [42, '', 'x'.repeat(129), { v: 1 }, ['a'], true]) {
      const reply = await conn.request('GET', { filename: 'a.txt', if_version: bad });
      expect({ bad, code: reply.code }).toEqual({ bad, code: 400 });
      expect(reply.message).toMatch(/if_version/);
    }
    // Bad field beats missing file: nothing is looked up for a malformed request.
    expect((await conn.request('GET', { filename: 'gone.txt', if_version: 7 })).code).toBe(400);
    expect((await conn.request('GET', { filename: 'a.txt', if_version: 'x'.repeat(128) })).code).toBe(412);
    const { header, payload } = await get({ filename: 'a.txt', if_version: null });
    expect(header.code).toBe(200);
    expect(payload!.equals(small)).toBe(true);
  });
});
