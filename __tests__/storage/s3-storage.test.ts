/**
 * What only the S3 backend does, over real HTTP to s3rver: paging, multipart
 * uploads and their digests, conditional writes, stale uploads of a killed
 * process, multipart copies, odd keys written by other tools, and the error
 * table. Requests are counted with an SDK middleware where the claim is
 * about how many are sent.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { StorageError, type StorageErrorKind } from '../../src/storage/errors';
import { parseClientPath } from '../../src/storage/path-rules';
import { copyPartRanges } from '../../src/storage/s3/copy';
import { isClientName } from '../../src/storage/s3/keys';
import { kindOf as s3KindOf, toStorageError } from '../../src/storage/s3/errors';
import { S3Storage } from '../../src/storage/s3/s3-storage';
import type { S3StorageOptions } from '../../src/storage/s3/options';
import { FakeClock } from '../../src/util/clock';
import { S3RVER_CREDENTIALS, startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';
import { expectBytes, putFile, readFile, writeAll } from './contract';

const MiB = 1024 * 1024;
const p = parseClientPath;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let endpoint: S3Endpoint;
let raw: S3Client;
let counter = 0;
const opened: S3Storage[] = [];

beforeAll(async () => {
  endpoint = await startS3Endpoint('s3-specific');
  raw = endpoint.client();
}, 60_000);

afterAll(async () => {
  for (const storage of opened) await storage.close();
  await endpoint?.stop();
});

/** A storage on a fresh prefix, and a count of the S3 commands it sent. */
function makeStorage(options: Partial<S3StorageOptions> = {}): { storage: S3Storage; prefix: string; counts: Map<string, number> } {
  const prefix = `s${++counter}/`;
  const counts = new Map<string, number>();
  const storage = S3Storage.create({
    bucket: endpoint.bucket,
    prefix,
    endpoint: endpoint.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    clientFactory: (config) => {
      const client = new S3Client({ ...config, credentials: S3RVER_CREDENTIALS });
      client.middlewareStack.add(
        (next, context) => async (args) => {
          counts.set(context.commandName as string, (counts.get(context.commandName as string) ?? 0) + 1);
          return next(args);
        },
        { step: 'initialize', name: 'countCommands' },
      );
      return client;
    },
    ...options,
  });
  opened.push(storage);
  return { storage, prefix, counts };
}

async function put(key: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void> {
  await raw.send(new PutObjectCommand({ Bucket: endpoint.bucket, Key: key, Body: Buffer.from(body), Metadata: metadata }));
}

async function head(key: string) {
  return raw.send(new HeadObjectCommand({ Bucket: endpoint.bucket, Key: key })).catch(() => undefined);
}

async function openUploads(prefix: string): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: endpoint.bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((upload) => upload.Key ?? '');
}

async function kind(promise: Promise<unknown>): Promise<StorageErrorKind> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StorageError) return err.kind;
    throw err;
  }
  throw new Error('expected a StorageError, but it succeeded');
}

describe('listings', () => {
  it('pages through more keys than one page holds, folders and files together, sorted', async () => {
    const { storage, prefix, counts } = makeStorage({ listPageSize: 3 });
    for (let i = 9; i >= 0; i--) await put(`${prefix}f${i}.txt`, `file ${i}`);
    for (const folder of ['zz', 'a', 'm']) await put(`${prefix}${folder}/inside.txt`, 'x');
    const entries = await storage.list(p('/'));
    expect(entries.map((e) => e.name)).toEqual(['a', ...Array.from({ length: 10 }, (_, i) => `f${i}.txt`), 'm', 'zz']);
    expect(entries.find((e) => e.name === 'f3.txt')).toMatchObject({ type: 'file', size: 6 });
    expect(counts.get('ListObjectsV2Command')).toBeGreaterThanOrEqual(4);
  });

  it('stops paging once the reply budget is spent (too_large after one page, not all of them)', async () => {
    const { storage, prefix, counts } = makeStorage({ listPageSize: 5 });
    for (let i = 0; i < 40; i++) await put(`${prefix}${'n'.repeat(100)}${String(i).padStart(2, '0')}`, '1');
    expect(await kind(storage.list(p('/'), { maxReplyBytes: 500 }))).toBe('too_large');
    expect(counts.get('ListObjectsV2Command')).toBe(1);
  });

  it('hides keys no client can name, and shows implicit folders (keys without a marker)', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}ok.txt`, 'ok');
    // Names s3rver can store that no client can name ('.', '..', 'a//b' and
    // over-long names break s3rver's own file store; isClientName covers them).
    for (const odd of ['back\\slash', '.ftp-upload-0123456789abcdef.tmp']) await put(`${prefix}${odd}`, 'odd');
    // s3rver reports a common prefix only from keys one level below it (S3
    // reports it at any depth), hence the direct file.
    await put(`${prefix}implicit/direct.txt`, 'direct');
    await put(`${prefix}implicit/deep/file.txt`, 'deep');
    expect((await storage.list(p('/'))).map((e) => e.name)).toEqual(['implicit', 'ok.txt']);
    expect((await storage.list(p('implicit'))).map((e) => e.name)).toEqual(['deep', 'direct.txt']);
    expect(await storage.stat(p('implicit/deep'))).toMatchObject({ type: 'dir' });
    await putFile(storage, 'implicit/deep/new.txt', Buffer.from('new'));
    expect((await storage.list(p('implicit/deep'))).map((e) => e.name)).toEqual(['file.txt', 'new.txt']);
  });

  it('shows a name that is both an object and a prefix once, as the file', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}both`, 'file');
    await put(`${prefix}both/child.txt`, 'child');
    expect(await storage.list(p('/'))).toEqual([expect.objectContaining({ name: 'both', type: 'file', size: 4 })]);
    expect(await storage.stat(p('both'))).toMatchObject({ type: 'file' });
  });

  it('refuses to remove a folder holding only keys no client can see (never deletes what it does not show)', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}d/`, '');
    await put(`${prefix}d/back\\slash`, 'hidden');
    expect(await storage.list(p('d'))).toEqual([]);
    expect(await kind(storage.removeDirectory(p('d')))).toBe('not_empty');
    expect(await head(`${prefix}d/back\\slash`)).toBeDefined();
  });
});

describe('keys', () => {
  it('stores, lists, renames and reads names with URL-special and non-ASCII characters', async () => {
    const { storage } = makeStorage();
    const names = ['a b.txt', 'plus+sign', 'hash#tag', 'what?', '100%', 'amp&eq=', 'ü-ñ-日本', '\u{1F600}'];
    for (const name of names) await putFile(storage, name, Buffer.from(`content of ${name}`));
    await storage.makeDirectory(p('moved'));
    for (const name of names) await storage.rename(p(name), p(`moved/${name}`), { replace: false });
    expect((await storage.list(p('moved'))).map((e) => e.name).sort()).toEqual([...names].sort());
    for (const name of names) expect((await readFile(storage, `moved/${name}`)).toString()).toBe(`content of ${name}`);
  });

  it('answers name_too_long for a key past S3’s 1,024 bytes, before sending anything', async () => {
    const { storage, counts } = makeStorage();
    const long = Array.from({ length: 5 }, () => 'y'.repeat(250)).join('/');
    expect(await kind(storage.beginUpload(p(long), { size: 1, replace: true }))).toBe('name_too_long');
    expect(counts.size).toBe(0);
  });

  it('tells names a client can use from those it cannot', () => {
    for (const name of ['a', '.hidden', 'a b', '\u{1F600}', 'x'.repeat(255)]) expect(isClientName(name)).toBe(true);
    for (const name of ['', '.', '..', 'a/b', 'a\\b', 'a\0b', 'x'.repeat(256), '.ftp-upload-0123456789abcdef.tmp', '\uD800']) {
      expect(isClientName(name)).toBe(false);
    }
  });

  it('refuses a prefix that breaks the path rules (operator error)', () => {
    expect(() => S3Storage.create({ bucket: 'b', prefix: 'ok/../escape' })).toThrow(/Invalid S3 prefix/);
  });
});

describe('multipart uploads', () => {
  const bigOptions = { partSize: 5 * MiB, queueSize: 2 };

  it('uploads in several parts and stores the announced digest from the start', async () => {
    const { storage, prefix, counts } = makeStorage(bigOptions);
    const data = randomBytes(12 * MiB + 123);
    const upload = await storage.beginUpload(p('big.bin'), { size: data.length, sha256: sha256(data), replace: true });
    await writeAll(upload, data, 256 * 1024);
    expect(await openUploads(prefix)).toEqual([`${prefix}big.bin`]);
    expect(await head(`${prefix}big.bin`)).toBeUndefined(); // parts are not an object
    const { versionKey } = await upload.commit({ sha256: sha256(data), bytes: data.length });
    expect(counts.get('UploadPartCommand')).toBe(3);
    expect(counts.get('CopyObjectCommand')).toBeUndefined();
    expect((await head(`${prefix}big.bin`))?.Metadata?.sha256).toBe(sha256(data));
    expect(await openUploads(prefix)).toEqual([]);
    const source = await storage.openRead(p('big.bin'));
    expect(source.versionKey).toBe(versionKey);
    expect(source.storedSha256).toBe(sha256(data));
    await source.close();
    expectBytes(await readFile(storage, 'big.bin'), data);
  });

  it('stores the digest of an upload whose digest came only at the end (FTP STOR), by a pinned copy onto itself', async () => {
    const { storage, prefix, counts } = makeStorage(bigOptions);
    const data = randomBytes(11 * MiB);
    const upload = await storage.beginUpload(p('stor.bin'), { replace: true });
    await writeAll(upload, data, 100_000);
    const { versionKey } = await upload.commit({ sha256: sha256(data), bytes: data.length });
    expect(counts.get('CopyObjectCommand')).toBe(1);
    expect((await head(`${prefix}stor.bin`))?.Metadata?.sha256).toBe(sha256(data));
    expect((await storage.openRead(p('stor.bin'))).versionKey).toBe(versionKey);
  });

  it('splits one huge write into parts of partSize (no giant part)', async () => {
    const { storage, counts } = makeStorage(bigOptions);
    const data = randomBytes(12 * MiB);
    const upload = await storage.beginUpload(p('one-write.bin'), { size: data.length, replace: true });
    await writeAll(upload, data, data.length);
    await upload.commit({ sha256: sha256(data), bytes: data.length });
    expect(counts.get('UploadPartCommand')).toBe(3);
    expectBytes(await readFile(storage, 'one-write.bin'), data);
  });

  it('a small upload is one PutObject carrying the digest, no multipart upload at all', async () => {
    const { storage, prefix, counts } = makeStorage(bigOptions);
    const data = randomBytes(1000);
    const upload = await storage.beginUpload(p('small.bin'), { replace: true });
    await writeAll(upload, data);
    await upload.commit({ sha256: sha256(data), bytes: data.length });
    expect(counts.get('CreateMultipartUploadCommand')).toBeUndefined();
    expect(counts.get('PutObjectCommand')).toBe(1);
    expect((await head(`${prefix}small.bin`))?.Metadata?.sha256).toBe(sha256(data));
  });

  it('digest mismatch: abort leaves no object and no multipart upload; commit itself refuses a digest it was not promised', async () => {
    const { storage, prefix } = makeStorage(bigOptions);
    const data = randomBytes(11 * MiB);
    const claimed = sha256(Buffer.from('something else'));
    // As the transfer layer does: it compares, sees the mismatch, aborts.
    const first = await storage.beginUpload(p('bad.bin'), { size: data.length, sha256: claimed, replace: true });
    await writeAll(first, data, 512 * 1024);
    expect(await openUploads(prefix)).toHaveLength(1);
    await first.abort();
    // And if a caller committed anyway, the backend refuses rather than store a lying digest.
    const second = await storage.beginUpload(p('bad.bin'), { size: data.length, sha256: claimed, replace: true });
    await writeAll(second, data, 512 * 1024);
    expect(await kind(second.commit({ sha256: sha256(data), bytes: data.length }))).toBe('io');
    expect(await head(`${prefix}bad.bin`)).toBeUndefined();
    expect(await openUploads(prefix)).toEqual([]);
  });

  it('replace: false holds at completion against a file created meanwhile, and the upload is aborted', async () => {
    const { storage, prefix } = makeStorage(bigOptions);
    const data = randomBytes(6 * MiB);
    const upload = await storage.beginUpload(p('taken.bin'), { size: data.length, replace: false });
    await put(`${prefix}taken.bin`, 'the other writer');
    await writeAll(upload, data, 512 * 1024);
    expect(await kind(upload.commit({ sha256: sha256(data), bytes: data.length }))).toBe('permission_denied');
    expect((await readFile(storage, 'taken.bin')).toString()).toBe('the other writer');
    expect(await openUploads(prefix)).toEqual([]);
  });

  it('more bytes than announced fail the stream, and nothing is published', async () => {
    const { storage, prefix } = makeStorage();
    const upload = await storage.beginUpload(p('over.bin'), { size: 4, replace: true });
    await expect(writeAll(upload, Buffer.from('12345'))).rejects.toBeInstanceOf(StorageError);
    expect(await kind(upload.commit({ sha256: undefined, bytes: 5 }))).toBe('io');
    await upload.abort();
    expect(await head(`${prefix}over.bin`)).toBeUndefined();
  });
});

describe('stale multipart uploads', () => {
  // A process that starts a multipart upload (two parts sent), says so, and waits to be killed.
  const childScript = `
    require('ts-node').register({ transpileOnly: true });
    const { S3Client } = require('@aws-sdk/client-s3');
    const { S3Storage } = require(${JSON.stringify(path.join(__dirname, '../../src/storage/s3/s3-storage'))});
    const { parseClientPath } = require(${JSON.stringify(path.join(__dirname, '../../src/storage/path-rules'))});
    const [endpoint, bucket, prefix] = process.argv.slice(1);
    (async () => {
      const storage = S3Storage.create({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true,
        partSize: 5 * 1024 * 1024, queueSize: 1,
        clientFactory: (c) => new S3Client({ ...c, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }) });
      const upload = await storage.beginUpload(parseClientPath('killed.bin'), { replace: true });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      for (let i = 0; i < 11; i++) await new Promise((r) => upload.stream.write(chunk, r));
      process.stdout.write('PARTS_SENT\\n');
      setInterval(() => {}, 1000);
    })();
  `;

  it('sweeps the upload of a killed process once stale, and never this process’s own upload in flight', async () => {
    const prefix = `s${++counter}/`;
    const child = spawn(process.execPath, ['-e', childScript, endpoint.endpoint, endpoint.bucket, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child never sent its parts:\n${output}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('PARTS_SENT')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    });
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    expect(await openUploads(prefix)).toEqual([`${prefix}killed.bin`]);

    // Our own multipart upload on the same prefix, in flight (two parts sent, not completed) during the sweeps.
    const clock = new FakeClock(Date.now());
    const { storage } = makeStorage({ prefix, partSize: 5 * MiB, clock });
    const data = randomBytes(5 * MiB + 1);
    const mine = await storage.beginUpload(p('mine.bin'), { replace: true });
    await writeAll(mine, data, MiB);

    // Younger than the age (1 hour by default): left alone, it may be another node's live upload.
    expect(await storage.removeStaleUploads()).toBe(0);
    expect((await openUploads(prefix)).sort()).toEqual([`${prefix}killed.bin`, `${prefix}mine.bin`]);
    clock.advance(2 * 60 * 60 * 1000);
    expect(await storage.removeStaleUploads()).toBe(1);
    expect(await openUploads(prefix)).toEqual([`${prefix}mine.bin`]);
    await mine.commit({ sha256: sha256(data), bytes: data.length });
    expectBytes(await readFile(storage, 'mine.bin'), data);
  });
});

describe('downloads', () => {
  it('fails (io, not spliced bytes) when the object is replaced between two ranged reads', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}moving.bin`, Buffer.alloc(1000, 1));
    const source = await storage.openRead(p('moving.bin'));
    const chunks: Buffer[] = [];
    for await (const chunk of source.createReadStream(0, 500)) chunks.push(chunk);
    await put(`${prefix}moving.bin`, Buffer.alloc(1000, 2));
    const rest = source.createReadStream(500, 1000);
    await expect((async () => {
      for await (const chunk of rest) chunks.push(chunk);
    })()).rejects.toMatchObject({ kind: 'io', message: 'The file changed during the download' });
    expect(Buffer.concat(chunks).every((b) => b === 1)).toBe(true);
    await source.close();
  });

  it('ignores a malformed sha256 in the metadata of an object written by someone else', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}good.txt`, 'x', { sha256: sha256(Buffer.from('x')).toUpperCase() });
    await put(`${prefix}bad.txt`, 'x', { sha256: 'not-a-digest' });
    const good = await storage.openRead(p('good.txt'));
    const bad = await storage.openRead(p('bad.txt'));
    expect(good.storedSha256).toBe(sha256(Buffer.from('x')));
    expect(bad.storedSha256).toBeUndefined();
    await Promise.all([good.close(), bad.close()]);
  });

  it('readSmall costs one request and no HeadObject', async () => {
    const { storage, prefix, counts } = makeStorage();
    await put(`${prefix}tiny.txt`, 'tiny');
    const small = await storage.readSmall(p('tiny.txt'), 64 * 1024);
    expect(small?.data.toString()).toBe('tiny');
    expect([...counts.entries()]).toEqual([['GetObjectCommand', 1]]);
    await put(`${prefix}empty.txt`, '');
    expect(await storage.readSmall(p('empty.txt'), 64 * 1024)).toBeUndefined(); // S3 refuses ranges of empty objects
    expect(await storage.readSmall(p('missing.txt'), 64 * 1024)).toBeUndefined();
  });
});

describe('rename', () => {
  it('copies past the copy threshold in parts (UploadPartCopy), keeping bytes and digest', async () => {
    const { storage, prefix, counts } = makeStorage({ copyThreshold: 5 * MiB, copyPartSize: 5 * MiB, queueSize: 2 });
    const data = randomBytes(12 * MiB);
    await put(`${prefix}large.bin`, data, { sha256: sha256(data) });
    await storage.rename(p('large.bin'), p('renamed.bin'), { replace: false });
    expect(counts.get('UploadPartCopyCommand')).toBe(3);
    expect(counts.get('CopyObjectCommand')).toBeUndefined();
    expect(await head(`${prefix}large.bin`)).toBeUndefined();
    expect((await head(`${prefix}renamed.bin`))?.Metadata?.sha256).toBe(sha256(data));
    expectBytes(await readFile(storage, 'renamed.bin'), data);
    expect(await openUploads(prefix)).toEqual([]);
  });

  it('keeps a file someone wrote under the old name between the copy and the delete', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}old.txt`, 'first');
    // Replace the source right after the copy: the conditional delete must spare it.
    raw.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'CopyObjectCommand') await put(`${prefix}old.txt`, 'second');
        return result;
      },
      { step: 'initialize', name: 'replaceAfterCopy' },
    );
    try {
      const storageRaw = S3Storage.create({
        bucket: endpoint.bucket,
        prefix,
        endpoint: endpoint.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        clientFactory: () => raw,
      });
      await storageRaw.rename(p('old.txt'), p('new.txt'), { replace: false });
    } finally {
      raw.middlewareStack.remove('replaceAfterCopy');
    }
    expect((await readFile(storage, 'new.txt')).toString()).toBe('first');
    expect((await readFile(storage, 'old.txt')).toString()).toBe('second');
  });

  it('falls back to a plain delete on an endpoint that does not implement conditional deletes', async () => {
    const { storage, prefix } = makeStorage();
    await put(`${prefix}a.txt`, 'moved');
    // Such an endpoint answers 501 NotImplemented to DeleteObject with If-Match.
    storage.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { IfMatch?: string };
        if (context.commandName === 'DeleteObjectCommand' && input.IfMatch !== undefined) {
          throw Object.assign(new Error('not implemented'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'noConditionalDelete' },
    );
    await storage.rename(p('a.txt'), p('b.txt'), { replace: false });
    expect(await head(`${prefix}a.txt`)).toBeUndefined();
    expect((await readFile(storage, 'b.txt')).toString()).toBe('moved');
  });

  it('computes multipart copy ranges: whole parts, a short last one, and bigger parts past 10,000', () => {
    expect(copyPartRanges(10, 4)).toEqual([
      { partNumber: 1, start: 0, end: 3 },
      { partNumber: 2, start: 4, end: 7 },
      { partNumber: 3, start: 8, end: 9 },
    ]);
    expect(copyPartRanges(8, 4)).toEqual([
      { partNumber: 1, start: 0, end: 3 },
      { partNumber: 2, start: 4, end: 7 },
    ]);
    expect(copyPartRanges(1, 5 * MiB)).toEqual([{ partNumber: 1, start: 0, end: 0 }]);
    const fiveTiB = 5 * 1024 * 1024 * MiB;
    const parts = copyPartRanges(fiveTiB, 512 * MiB);
    expect(parts.length).toBeLessThanOrEqual(10_000);
    expect(parts[0].start).toBe(0);
    expect(parts[parts.length - 1].end).toBe(fiveTiB - 1);
    const gaps = parts.filter((part, i) => i > 0 && part.start !== parts[i - 1].end + 1);
    expect(gaps).toEqual([]);
    expect(() => copyPartRanges(0, 4)).toThrow(RangeError);
  });
});

describe('errors', () => {
  it('maps S3 and network failures to storage kinds in one table', () => {
    const sdk = (name: string, status?: number) => Object.assign(new Error('sdk text with bucket-name'), { name, $metadata: { httpStatusCode: status } });
    const cases: Array<[unknown, StorageErrorKind]> = [
      [sdk('NoSuchKey', 404), 'not_found'],
      [sdk('NotFound', 404), 'not_found'],
      [sdk('Unknown', 404), 'not_found'],
      [sdk('AccessDenied', 403), 'permission_denied'],
      [sdk('InvalidAccessKeyId', 403), 'permission_denied'],
      [sdk('SlowDown', 503), 'unavailable'],
      [sdk('Unknown', 503), 'unavailable'],
      [sdk('InternalError', 500), 'unavailable'],
      [sdk('EntityTooLarge', 400), 'too_large'],
      [sdk('KeyTooLongError', 400), 'name_too_long'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'unavailable'],
      [sdk('InvalidArgument', 400), 'io'],
      [new Error('anything'), 'io'],
    ];
    for (const [err, expected] of cases) {
      expect(s3KindOf(err)).toBe(expected);
      const mapped = toStorageError(err);
      expect(mapped.kind).toBe(expected);
      expect(mapped.message).not.toMatch(/sdk text|bucket|ECONNREFUSED|127\.0/);
      expect(mapped.cause).toBe(err);
    }
  });

  it('wrong credentials: permission_denied, and the message names no bucket', async () => {
    const storage = S3Storage.create({
      bucket: endpoint.bucket,
      endpoint: endpoint.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      clientFactory: (config) => new S3Client({ ...config, credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } }),
    });
    opened.push(storage);
    const err = await storage.list(p('/')).catch((e: unknown) => e as StorageError);
    expect(err).toMatchObject({ kind: 'permission_denied' });
    expect((err as Error).message).not.toContain(endpoint.bucket);
  });

  it('an endpoint that does not answer: unavailable', async () => {
    const storage = S3Storage.create({
      bucket: endpoint.bucket,
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      forcePathStyle: true,
      clientFactory: (config) => new S3Client({ ...config, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 }),
    });
    opened.push(storage);
    expect(await kind(storage.stat(p('x')))).toBe('unavailable');
    await expect(storage.check()).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('takes credentials from the SDK default chain (here the environment) when no client is given', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    try {
      const prefix = `s${++counter}/`;
      const storage = S3Storage.create({ bucket: endpoint.bucket, prefix, endpoint: endpoint.endpoint, region: 'us-east-1', forcePathStyle: true });
      opened.push(storage);
      await storage.check();
      await putFile(storage, 'env.txt', Buffer.from('from env'));
      expect((await head(`${prefix}env.txt`))?.ContentLength).toBe(8);
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});
