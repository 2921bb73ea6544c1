/**
 * Reading objects. A download is pinned to the version HeadObject saw: every
 * ranged GET carries `If-Match: <ETag>`, so if the object is replaced while a
 * client is downloading, the next GET fails (412) instead of splicing bytes
 * of the new version into the old one's reply. Bytes flow as the SDK's
 * response stream, pulled only as fast as the consumer reads.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { StorageError } from '../errors';
import { type DownloadSource, type SmallFile } from '../storage';
import { isNotFound, isPreconditionFailed, toStorageError } from './errors';
import { bareEtag, versionKeyOf } from './keys';
import type { S3Context } from './options';

/** A SHA-256 as this backend stores it in the object's metadata: 64 lower-case hex digits. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** What HeadObject says about a file. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date | undefined;
  metadata: Record<string, string>;
  contentType: string | undefined;
}

/** HeadObject, or undefined when there is no object at `key`. */
export async function headObject(ctx: S3Context, key: string): Promise<ObjectInfo | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw toStorageError(err);
  }
  return {
    key,
    size: head.ContentLength ?? 0,
    etag: bareEtag(head.ETag),
    lastModified: head.LastModified,
    metadata: head.Metadata ?? {},
    contentType: head.ContentType,
  };
}

/** The stored digest of `info`, if it is well formed (objects written by others may carry anything). */
function storedSha256(info: ObjectInfo): string | undefined {
  const value = info.metadata.sha256?.toLowerCase();
  return value !== undefined && SHA256_PATTERN.test(value) ? value : undefined;
}

/**
 * One ranged GET as a Readable. The request starts on the first read; the
 * SDK's body is paused whenever this stream's buffer is full and resumed on
 * the next read, so bytes arrive only as fast as the consumer takes them.
 */
class RangeStream extends Readable {
  private body: Readable | undefined;
  private started = false;
  private received = 0;
  private readonly cancel = new AbortController();

  constructor(
    private readonly open: (signal: AbortSignal) => Promise<Readable>,
    private readonly expected: number,
  ) {
    super();
  }

  override _read(): void {
    if (this.body) {
      this.body.resume();
      return;
    }
    if (this.started) return;
    this.started = true;
    this.open(this.cancel.signal).then(
      (body) => this.attach(body),
      (err: unknown) => this.destroy(isPreconditionFailed(err) || isNotFound(err) ? changedError(err) : toStorageError(err)),
    );
  }

  private attach(body: Readable): void {
    if (this.destroyed) {
      body.destroy();
      return;
    }
    this.body = body;
    body.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      // A body cut short without an error (a proxy closing early) is still a failure.
      if (this.received !== this.expected) this.destroy(new StorageError('io', 'Short read from the storage'));
      else this.push(null);
    });
    body.once('error', (err) => this.destroy(toStorageError(err)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.cancel.abort();
    this.body?.destroy();
    callback(error);
  }
}

/** The failure a consumer sees when the object changed between two ranged GETs. */
function changedError(cause: unknown): StorageError {
  return new StorageError('io', 'The file changed during the download', { cause });
}

/** One version of an object, opened for download. */
export class S3Download implements DownloadSource {
  readonly size: number;
  readonly versionKey: string;
  readonly storedSha256: string | undefined;
  private readonly streams = new Set<Readable>();
  private closed = false;

  constructor(private readonly ctx: S3Context, private readonly info: ObjectInfo) {
    this.size = info.size;
    this.versionKey = versionKeyOf(info.etag, info.size);
    this.storedSha256 = storedSha256(info);
  }

  /** Bytes [start, end) by one ranged GET, pulled with backpressure. */
  createReadStream(start: number, end: number): Readable {
    if (this.closed) throw new StorageError('io', 'Download already closed');
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > this.size) {
      throw new StorageError('io', 'Invalid range');
    }
    // An empty range is no request at all (S3 cannot express bytes=n-(n-1)).
    if (start === end) return Readable.from([], { objectMode: false });
    const stream = new RangeStream(
      (signal) =>
        this.ctx.client.send(
          new GetObjectCommand({
            Bucket: this.ctx.bucket,
            Key: this.info.key,
            Range: `bytes=${start}-${end - 1}`,
            IfMatch: `"${this.info.etag}"`,
          }),
          { abortSignal: signal },
        ).then((response) => response.Body as Readable),
      end - start,
    );
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  /** Stop every stream still open; safe to call twice. */
  close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
    return Promise.resolve();
  }
}

/**
 * The whole object if it has at most `maxBytes`, in one ranged GET of the
 * first `maxBytes` (no HeadObject first); undefined for anything else —
 * bigger, missing, a folder, empty (S3 refuses a range on an empty object) —
 * and the caller takes openRead, which gives each case its own answer.
 */
export async function readSmallObject(ctx: S3Context, key: string, maxBytes: number): Promise<SmallFile | undefined> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) return undefined;
  let response;
  try {
    response = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: key, Range: `bytes=0-${maxBytes - 1}` }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (isNotFound(err) || status === 416) return undefined;
    throw toStorageError(err);
  }
  const body = response.Body as Readable;
  const total = totalSize(response.ContentRange, response.ContentLength);
  if (total === undefined || total > maxBytes) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      received += (chunk as Buffer).length;
      if (received > maxBytes) break; // an endpoint that ignored the range
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw toStorageError(err);
  } finally {
    body.destroy();
  }
  if (received !== total) return undefined;
  return { data: Buffer.concat(chunks, total), size: total, versionKey: versionKeyOf(bareEtag(response.ETag), total) };
}

/** The object's whole size from `Content-Range: bytes a-b/TOTAL`, else the body length (a 200). */
function totalSize(contentRange: string | undefined, contentLength: number | undefined): number | undefined {
  if (contentRange !== undefined) {
    const match = /\/(\d+)$/.exec(contentRange);
    return match ? Number(match[1]) : undefined;
  }
  return contentLength;
}
