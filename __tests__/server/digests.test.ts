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

/** What the server did to get its digests: worker jobs started and completed, cache hits and misses. */
function digestWork() {
  const { started, completed } = t.server.hashJobs;
  const { hits, misses } = t.server.core.transfers.deps.digests.counts;
  return { started, completed, hits, misses };
}

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
  expect(digestWork()).toEqual({ started: 0, completed: 0, hits: 0, misses: 0 });

  // First download: not in the cache, so hashed by a job on the worker thread.
  const first = await download('big.bin');
  expect(first.payload.equals(big)).toBe(true);
  expect(first.trailer).toMatchObject({ bytes: big.length, sha256: sha256(big) });
  expect(digestWork()).toEqual({ started: 1, completed: 1, hits: 0, misses: 1 });

  // Second: the same version, answered from the cache with no new job.
  const second = await download('big.bin');
  expect(second.payload.equals(big)).toBe(true);
  expect(second.trailer).toMatchObject({ bytes: big.length, sha256: sha256(big) });
  expect(digestWork()).toEqual({ started: 1, completed: 1, hits: 1, misses: 1 });

  // A range is not a whole file: no cache lookup, a job of its own.
  const ranged = await download('big.bin', 3 * MiB + 5);
  expect(ranged.trailer.sha256).toBe(sha256(big.subarray(3 * MiB + 5)));
  expect(digestWork()).toEqual({ started: 2, completed: 2, hits: 1, misses: 1 });

  // An upload leaves its digest in the cache: the next download hashes nothing.
  const replacement = randomBytes(18 * MiB);
  expect(await conn.request('PUT', { filename: 'big.bin', size: replacement.length })).toMatchObject({ code: 150 });
  conn.write(replacement);
  expect(await conn.frame(20_000)).toMatchObject({ code: 226, sha256: sha256(replacement) });
  const after = await download('big.bin');
  expect(after.payload.equals(replacement)).toBe(true);
  expect(after.trailer.sha256).toBe(sha256(replacement));
  expect(digestWork()).toEqual({ started: 2, completed: 2, hits: 2, misses: 1 });
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
  // The changed file was a new version: a cache miss and a second job, never a hit.
  expect(digestWork()).toEqual({ started: 2, completed: 2, hits: 0, misses: 2 });
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
    expect(cache.counts).toEqual({ hits: 3, misses: 1 });
  });
});
