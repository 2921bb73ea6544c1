/**
 * The storage contract on S3Storage over real HTTP to s3rver, plus the proof
 * that nothing outside the prefix is ever read, listed or written: objects
 * seeded around each test's prefix — a sibling `cN-evil/`, an object named
 * exactly like the prefix without its slash, keys at the bucket's root — must
 * come out of the whole run byte-identical, and no new key may appear
 * outside the prefixes the tests own.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client, type _Object } from '@aws-sdk/client-s3';
import { S3Storage } from '../../src/storage/s3/s3-storage';
import { S3RVER_CREDENTIALS, startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';
import { describeStorageContract } from './contract';

let endpoint: S3Endpoint;
let raw: S3Client;
let counter = 0;
const ownPrefixes: string[] = [];
const outside = new Map<string, string>(); // key -> ETag

async function put(key: string, body: Buffer): Promise<string> {
  const out = await raw.send(new PutObjectCommand({ Bucket: endpoint.bucket, Key: key, Body: body }));
  return out.ETag ?? '';
}

async function allObjects(): Promise<_Object[]> {
  const objects: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: endpoint.bucket, ContinuationToken: token }));
    objects.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

beforeAll(async () => {
  endpoint = await startS3Endpoint('contract-bucket');
  raw = endpoint.client();
  for (const key of ['secret.txt', 'other/file.txt', 'other/']) outside.set(key, await put(key, Buffer.from(`outside ${key}`)));
}, 60_000);

afterAll(async () => {
  // The confinement proof over the whole run.
  const objects = await allObjects();
  const strangers = objects.filter((o) => !ownPrefixes.some((prefix) => o.Key!.startsWith(prefix)));
  expect(new Map(strangers.map((o) => [o.Key!, o.ETag!]))).toEqual(outside);
  await endpoint?.stop();
});

describeStorageContract('S3Storage on s3rver', async () => {
  const n = ++counter;
  const prefix = `c${n}/`;
  ownPrefixes.push(prefix);
  // Traps right beside the prefix: a startsWith without the slash would reach them.
  for (const key of [`c${n}-evil/secret.txt`, `c${n}`, `c${n}x.txt`, `c${n}-evil/`]) {
    outside.set(key, await put(key, Buffer.from(`trap ${key}`)));
  }
  const storage = S3Storage.create({
    bucket: endpoint.bucket,
    prefix,
    endpoint: endpoint.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    clientFactory: (config) => new S3Client({ ...config, credentials: S3RVER_CREDENTIALS }),
  });
  return {
    storage,
    async seed(path, content) {
      const clean = path.split('/').filter(Boolean).join('/');
      if (content === 'dir') await put(`${prefix}${clean}/`, Buffer.alloc(0));
      else await put(`${prefix}${clean}`, content);
    },
    async cleanup() {
      await storage.close();
    },
  };
});
