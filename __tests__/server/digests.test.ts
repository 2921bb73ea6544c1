import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DigestCache } from '../../src/core/digest-cache';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;

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

async function download(filename: string, offset = 0) {
  const header = await conn.request('GET', { filename, offset });
  expect(header.code).toBe(200);
  const payload = await conn.bytes((header.size as number) - offset, 20_000);
  const trailer = await conn.frame(20_000);
  return { payload, trailer };
}

it('sends the right digest for large files hashed off-thread, again from the cache, and after an upload', async () => {
  const big = randomBytes(20 * MiB);
  await t.put('big.bin', big);
  for (let round = 0; round < 2; round++) {
    const { payload, trailer } = await download('big.bin');
    expect(payload.equals(big)).toBe(true);
    expect(trailer).toMatchObject({ bytes: big.length, sha256: sha256(big) });
  }
  const ranged = await download('big.bin', 3 * MiB + 5);
  expect(ranged.trailer.sha256).toBe(sha256(big.subarray(3 * MiB + 5)));

  const replacement = randomBytes(18 * MiB);
  expect(await conn.request('PUT', { filename: 'big.bin', size: replacement.length })).toMatchObject({ code: 150 });
  conn.write(replacement);
  expect(await conn.frame(20_000)).toMatchObject({ code: 226, sha256: sha256(replacement) });
  const after = await download('big.bin');
  expect(after.trailer.sha256).toBe(sha256(replacement));
});

it('never serves a stale digest when a file is rewritten in place with the same size', async () => {
  const first = randomBytes(17 * MiB);
  await t.put('same.bin', first);
  expect((await download('same.bin')).trailer.sha256).toBe(sha256(first));
  // Another process overwrites some bytes in place: same inode, same size.
  const handle = await fs.open(path.join(t.root, 'same.bin'), 'r+');
  await handle.write(Buffer.from('changed!'), 0, 8, 1000);
  await handle.close();
  const second = await fs.readFile(path.join(t.root, 'same.bin'));
  const { payload, trailer } = await download('same.bin');
  expect(payload.equals(second)).toBe(true);
  expect(trailer.sha256).toBe(sha256(second));
});

describe('DigestCache', () => {
  it('forgets the least recently used entry past its capacity', () => {
    const cache = new DigestCache(2);
    cache.set('a', '1');
    cache.set('b', '2');
    expect(cache.get('a')).toBe('1');
    cache.set('c', '3');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('1');
    expect(cache.get('c')).toBe('3');
    expect(cache.size).toBe(2);
  });
});
