/**
 * A real S3 endpoint for tests: `s3rver` in a child process on 127.0.0.1,
 * port 0, storing into a fresh temp folder, with one empty bucket. Tests talk
 * HTTP to it through the real AWS SDK; `stop()` ends the child by its PID and
 * removes the folder.
 *
 * s3rver 3.7.1 (the S3 server that installs here) lacks a few operations the
 * backend relies on. This file adds them in front of s3rver's router, written
 * from the S3 API reference, so the backend's real requests get S3's answers:
 *   - ListMultipartUploads, AbortMultipartUpload, ListParts, UploadPartCopy;
 *   - conditional requests: `If-None-Match: *` and `If-Match` on PutObject,
 *     CompleteMultipartUpload and CopyObject (destination), `If-Match` on
 *     GET/HEAD/DELETE, `x-amz-copy-source-if-match` on both copies
 *     (412 PreconditionFailed, as S3 answers);
 *   - a Range on an empty object answers 416 InvalidRange as S3 does (s3rver
 *     announces one byte and sends none, and the client hangs);
 *   - (s3rver's own paging needs Node's --openssl-legacy-provider: see below);
 *   - s3rver decodes `x-amz-copy-source` with decodeURI, which leaves `%23`,
 *     `%2B`, `%3F`... encoded: the header is re-encoded so keys holding
 *     those characters copy as they do on S3.
 * Everything else (objects, listings, metadata, ranges, multipart parts and
 * completion) is s3rver's own. The list of added operations is printed once
 * per start, so a test log says what it ran against.
 *
 * Run directly (`node -r ts-node/register/transpile-only s3-endpoint.ts serve
 * DIR BUCKET`) it is the child: it prints `S3_ENDPOINT_READY <port>` and exits
 * when its stdin closes (so a dying test runner takes it along).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Types only at the top: the child process never loads the SDK (it starts faster).
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';

/** The credentials s3rver accepts; they exist only on this test endpoint. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** A running endpoint. */
export interface S3Endpoint {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  pid: number;
  /** A raw SDK client for seeding and inspecting the bucket behind the backend's back. */
  client(): S3Client;
  /** Stop the child (SIGTERM to its PID, SIGKILL after 5 s) and remove its folder. */
  stop(): Promise<void>;
}

const SELF = __filename;
const READY = /S3_ENDPOINT_READY (\d+)/;
let announced = false;

/** Start s3rver in a child process with an empty bucket named `bucket`. */
export async function startS3Endpoint(bucket = 'test-bucket', startTimeoutMs = 20_000): Promise<S3Endpoint> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
  // tokens with DES, which OpenSSL 3 (Node 17+) refuses by default; without
  // it every truncated listing page is a 500.
  const nodeArgs = ['--openssl-legacy-provider', '-r', 'ts-node/register/transpile-only'];
  const child = spawn(process.execPath, [...nodeArgs, SELF, 'serve', dir, bucket], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`s3rver did not start in ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs);
    const onData = (data: Buffer) => {
      output += data.toString('utf8');
      const match = READY.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(err);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (data: Buffer) => (output += data.toString('utf8')));
    child.once('exit', (code) => fail(new Error(`s3rver exited with ${code} before it was ready:\n${output}`)));
  });
  if (!announced) {
    announced = true;
    // Say in the test output what these tests ran against.
    process.stdout.write(
      `[s3-endpoint] s3rver 3.7.1 on 127.0.0.1:${port} (pid ${child.pid}); added in front: ` +
        'ListMultipartUploads, AbortMultipartUpload, ListParts, UploadPartCopy, conditional writes/reads\n',
    );
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    bucket,
    pid: child.pid!,
    client() {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { S3Client: Client } = require('@aws-sdk/client-s3') as { S3Client: new (config: S3ClientConfig) => S3Client };
      const client = new Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      await stopChild(child);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ------------------------------------------------------------------ child

/** The parts of Koa's context and s3rver's store this file uses. */
interface Ctx {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
  store: S3rverStore;
}
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  getObject(bucket: string, key: string, range: { start: number; end: number }): Promise<{ content: NodeJS.ReadableStream } | null>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: NodeJS.ReadableStream): Promise<{ md5: string }>;
}
type Next = () => Promise<void>;

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unquote = (etag: string) => etag.replace(/"/g, '');

function xml(ctx: Ctx, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function s3Error(ctx: Ctx, status: number, code: string, message: string): void {
  if (ctx.method === 'HEAD') {
    // No body (Koa turns a null body into 204, so none is set at all).
    ctx.status = status;
    return;
  }
  xml(ctx, status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
}

async function etagOf(ctx: Ctx, bucket: string, key: string): Promise<string | undefined> {
  try {
    return unquote((await ctx.store.getMetadata(bucket, key)).etag);
  } catch {
    return undefined;
  }
}

function uploadDir(ctx: Ctx, bucket: string, uploadId: string): string {
  if (!/^[0-9a-f]+$/.test(uploadId)) throw new Error('bad upload id');
  return path.join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
}

function parseCopySource(raw: string): { bucket: string; key: string } {
  const decoded = decodeURIComponent(raw.split('?')[0]).replace(/^\//, '');
  const slash = decoded.indexOf('/');
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** 412/404 per S3's conditional-request rules, or undefined to go on. */
async function checkConditions(ctx: Ctx, bucket: string, key: string): Promise<boolean> {
  const ifNoneMatch = ctx.headers['if-none-match'];
  const ifMatch = ctx.headers['if-match'];
  if (ifNoneMatch === undefined && ifMatch === undefined) return true;
  const current = await etagOf(ctx, bucket, key);
  if (ifNoneMatch === '*' && current !== undefined) {
    s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    return false;
  }
  if (ifMatch !== undefined) {
    if (current === undefined) {
      s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      return false;
    }
    if (unquote(ifMatch) !== current) {
      s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return false;
    }
  }
  return true;
}

async function listUploads(ctx: Ctx, bucket: string): Promise<void> {
  const root = ctx.store.getResourcePath(bucket, undefined, 'uploads');
  const prefix = ctx.query.prefix ?? '';
  const ids = await fsp.readdir(root).catch(() => [] as string[]);
  const uploads: string[] = [];
  for (const id of ids.sort()) {
    const key = await fsp.readFile(path.join(root, id, 'key'), 'utf8').catch(() => undefined);
    if (key === undefined || !key.startsWith(prefix)) continue;
    const initiated = (await fsp.stat(path.join(root, id, 'key'))).mtime.toISOString();
    uploads.push(`<Upload><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`);
  }
  xml(ctx, 200, `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix>` +
    `<IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`);
}

async function listParts(ctx: Ctx, bucket: string, key: string, uploadId: string): Promise<void> {
  const dir = uploadDir(ctx, bucket, uploadId);
  const names = await fsp.readdir(dir).catch(() => undefined);
  if (!names) return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
  const parts: string[] = [];
  for (const name of names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b))) {
    const stats = await fsp.stat(path.join(dir, name));
    const md5 = await fsp.readFile(path.join(dir, `${name}.md5`), 'utf8').catch(() => '');
    parts.push(`<Part><PartNumber>${name}</PartNumber><LastModified>${stats.mtime.toISOString()}</LastModified>` +
      `<ETag>"${md5}"</ETag><Size>${stats.size}</Size></Part>`);
  }
  xml(ctx, 200, `<ListPartsResult><Bucket>${bucket}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId>` +
    `<IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`);
}

async function uploadPartCopy(ctx: Ctx, bucket: string, uploadId: string): Promise<void> {
  const source = parseCopySource(ctx.headers['x-amz-copy-source'] as string);
  const sourceEtag = await etagOf(ctx, source.bucket, source.key);
  if (sourceEtag === undefined) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
  const ifMatch = ctx.headers['x-amz-copy-source-if-match'];
  if (ifMatch !== undefined && unquote(ifMatch) !== sourceEtag) {
    return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
  const range = /^bytes=(\d+)-(\d+)$/.exec(ctx.headers['x-amz-copy-source-range'] ?? '');
  if (!range) return s3Error(ctx, 400, 'InvalidArgument', 'x-amz-copy-source-range is required here');
  const object = await ctx.store.getObject(source.bucket, source.key, { start: Number(range[1]), end: Number(range[2]) });
  if (!object) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
  uploadDir(ctx, bucket, uploadId); // validates the id
  const { md5 } = await ctx.store.putPart(bucket, uploadId, Number(ctx.query.partNumber), object.content);
  xml(ctx, 200, `<CopyPartResult><ETag>"${md5}"</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyPartResult>`);
}

/** Koa middleware adding what s3rver 3.7.1 lacks (see the file comment). */
async function compat(ctx: Ctx, next: Next): Promise<void> {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
  if (!match) return next();
  const bucket = match[1];
  const key = match[2] === undefined || match[2] === '' ? undefined : decodeURIComponent(match[2]);
  const { uploadId } = ctx.query;
  const copySource = ctx.headers['x-amz-copy-source'];

  if (key === undefined) {
    if (ctx.method === 'GET' && 'uploads' in ctx.query) return listUploads(ctx, bucket);
    return next();
  }
  if (uploadId !== undefined) {
    if (ctx.method === 'DELETE') {
      const dir = uploadDir(ctx, bucket, uploadId);
      if (!(await fsp.stat(dir).catch(() => undefined))) return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      await fsp.rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    if (ctx.method === 'GET') return listParts(ctx, bucket, key, uploadId);
    if (ctx.method === 'PUT' && copySource !== undefined) return uploadPartCopy(ctx, bucket, uploadId);
    if (ctx.method === 'POST' && !(await checkConditions(ctx, bucket, key))) return;
    return next();
  }
  if (ctx.method === 'PUT' && !('tagging' in ctx.query)) {
    if (copySource !== undefined) {
      const source = parseCopySource(copySource);
      const ifMatch = ctx.headers['x-amz-copy-source-if-match'];
      const sourceEtag = await etagOf(ctx, source.bucket, source.key);
      if (ifMatch !== undefined && sourceEtag !== undefined && unquote(ifMatch) !== sourceEtag) {
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
      ctx.headers['x-amz-copy-source'] = encodeURI(`${source.bucket}/${source.key}`);
    }
    if (!(await checkConditions(ctx, bucket, key))) return;
    return next();
  }
  if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'DELETE') {
    if (ctx.method === 'GET' && ctx.headers.range !== undefined) {
      const size = await fsp.stat(ctx.store.getResourcePath(bucket, key, 'object')).then((s) => s.size, () => undefined);
      if (size === 0) return s3Error(ctx, 416, 'InvalidRange', 'The requested range is not satisfiable');
    }
    const ifMatch = ctx.headers['if-match'];
    if (ifMatch !== undefined) {
      const current = await etagOf(ctx, bucket, key);
      if (current === undefined) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (unquote(ifMatch) !== current) {
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
    }
  }
  return next();
}

async function serve(dir: string, bucket: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (options: object) => {
    middleware: unknown[];
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  // Before s3rver's router (its last middleware), after its XML and path handling.
  server.middleware.splice(server.middleware.length - 1, 0, compat);
  const address = await server.run();
  process.stdout.write(`S3_ENDPOINT_READY ${address.port}\n`);
  const shutdown = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
  process.on('SIGTERM', shutdown);
}

if (require.main === module && process.argv[2] === 'serve') {
  serve(process.argv[3], process.argv[4]).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
