/**
 * Uploads as S3 multipart uploads, streamed with bounded memory, published
 * only by commit().
 *
 * Bytes collect into a part of `partSize`; each full part is sent with
 * UploadPart while the next fills, at most `queueSize` parts in flight. The
 * stream's write callback waits while the queue is full, which is the
 * backpressure: memory per upload stays near partSize × (queueSize + 2)
 * (parts in flight, the part filling, and the copy that joins its chunks).
 *
 * Nothing is visible before commit(): parts of an unfinished multipart
 * upload are not objects, and a file smaller than one part is held in memory
 * and sent by one PutObject at commit. commit() completes the upload (S3
 * then shows the whole object at once); abort() and any failed commit abort
 * it, so an object appears whole or not at all.
 *
 * The SHA-256 is stored as the object's `sha256` metadata. Known before the
 * bytes (a native PUT with sha256) it is set when the upload is created;
 * otherwise (FTP STOR) a small file's PutObject carries it, and a multipart
 * one gets it by a server-side copy onto itself after completing, pinned by
 * If-Match so it can never stamp another writer's object (docs/STORAGE-S3.md:
 * the window and the cost).
 */
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { copyObject } from './copy';
import { SHA256_PATTERN } from './download';
import { StorageError } from '../errors';
import { type PendingUpload } from '../storage';
import { isPreconditionFailed, toStorageError } from './errors';
import { bareEtag, versionKeyOf } from './keys';
import { MAX_OBJECT_SIZE, MAX_PARTS, MAX_SINGLE_COPY, type S3Context } from './options';

const CONTENT_TYPE = 'application/octet-stream';

/** What beginUpload decided for one upload. */
export interface UploadPlan {
  key: string;
  replace: boolean;
  /** Bytes announced, when known. */
  size?: number;
  /** The client's digest (lower-case hex), when known before the bytes. */
  sha256?: string;
  /** Bytes per part for this upload (raised for announced sizes past 10,000 default parts). */
  partSize: number;
}

/** The part size for an upload of `size` bytes: the configured one, or larger if 10,000 would not do. */
export function partSizeFor(configured: number, size: number | undefined): number {
  if (size === undefined) return configured;
  const MiB = 1024 * 1024;
  return Math.max(configured, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

function existsError(cause?: unknown): StorageError {
  return new StorageError('permission_denied', 'A file with this name exists and may not be replaced', { cause });
}

type State = 'open' | 'committing' | 'committed' | 'aborted';

/** One upload in progress (see the file comment). */
export class S3Upload implements PendingUpload {
  readonly stream: Writable;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  private nextPart = 1;
  private created: Promise<string> | undefined;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private readonly cancel = new AbortController();
  private state: State = 'open';
  private aborting: Promise<void> | undefined;
  private readonly maxBytes: number;

  constructor(private readonly ctx: S3Context, private readonly plan: UploadPlan) {
    this.maxBytes = Math.min(MAX_OBJECT_SIZE, plan.partSize * MAX_PARTS);
    this.stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => this.onWrite(chunk, callback),
      final: (callback) => this.onFinal(callback),
    });
  }

  private onWrite(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.state !== 'open') return callback(new StorageError('io', 'Upload already finished'));
    if (this.failure) return callback(toStorageError(this.failure.error));
    this.written += chunk.length;
    if (this.plan.size !== undefined && this.written > this.plan.size) {
      return callback(new StorageError('io', 'More bytes than announced'));
    }
    if (this.written > this.maxBytes) return callback(new StorageError('too_large', 'Too large for the storage'));
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= this.plan.partSize) this.sendPart(this.takePart(this.plan.partSize));
    this.whenRoom().then(
      () => callback(this.failure ? toStorageError(this.failure.error) : null),
      (err: unknown) => callback(toStorageError(err)),
    );
  }

  private onFinal(callback: (error?: Error | null) => void): void {
    // A file smaller than one part stays buffered for commit's single PutObject;
    // a multipart upload sends what is left as its last (shorter) part.
    if (this.created && this.buffered > 0) this.sendPart(this.takeBuffered());
    this.settled().then(
      () => callback(this.failure ? toStorageError(this.failure.error) : null),
      (err: unknown) => callback(toStorageError(err)),
    );
  }

  /** Everything buffered, as one Buffer. */
  private takeBuffered(): Buffer {
    return this.takePart(this.buffered);
  }

  /**
   * The first `size` buffered bytes as one part. Parts are exactly partSize
   * (a caller writing one huge chunk gets it split, not one giant part); the
   * rest stays as a view, copied into the next part when that one is joined.
   */
  private takePart(size: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const rest = all.subarray(size);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, size);
  }

  /** Resolves once fewer than queueSize parts are in flight. */
  private async whenRoom(): Promise<void> {
    while (this.inFlight.size >= this.ctx.settings.queueSize) await Promise.race(this.inFlight);
  }

  /** Resolves once no part is in flight. */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  private ensureCreated(): Promise<string> {
    this.created ??= (async () => {
      const checksums = await this.ctx.partChecksums();
      // No abort signal: a create cut off mid-flight could leave an upload
      // whose id we never learnt, and so could not abort.
      const out = await this.ctx.client.send(new CreateMultipartUploadCommand({
        Bucket: this.ctx.bucket,
        Key: this.plan.key,
        ContentType: CONTENT_TYPE,
        Metadata: this.plan.sha256 === undefined ? undefined : { sha256: this.plan.sha256 },
        ChecksumAlgorithm: checksums ? 'CRC32' : undefined,
      }));
      if (!out.UploadId) throw new StorageError('io', 'Storage error');
      this.uploadId = out.UploadId;
      this.ctx.activeUploads.add(out.UploadId);
      return out.UploadId;
    })();
    return this.created;
  }

  private sendPart(body: Buffer): void {
    const partNumber = this.nextPart++;
    const task: Promise<void> = (async () => {
      const uploadId = await this.ensureCreated();
      const checksums = await this.ctx.partChecksums();
      const out = await this.ctx.client.send(
        new UploadPartCommand({
          Bucket: this.ctx.bucket,
          Key: this.plan.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ChecksumAlgorithm: checksums ? 'CRC32' : undefined,
        }),
        { abortSignal: this.cancel.signal },
      );
      this.parts.push({
        PartNumber: partNumber,
        ETag: out.ETag,
        ...(out.ChecksumCRC32 !== undefined && { ChecksumCRC32: out.ChecksumCRC32 }),
      });
    })()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /**
   * Publish the upload (the stream must have finished). `replace: false` is
   * enforced by S3 itself (`If-None-Match: *`), so a file created by anyone
   * since beginUpload is never overwritten.
   */
  async commit(info: { sha256: string | undefined; bytes: number }): Promise<{ versionKey: string }> {
    if (this.state !== 'open') throw new StorageError('io', 'Upload already finished');
    if (!this.stream.writableFinished) throw new StorageError('io', 'Upload stream not ended');
    this.state = 'committing';
    try {
      if (this.failure) throw toStorageError(this.failure.error);
      if (info.bytes !== this.written || (this.plan.size !== undefined && this.plan.size !== this.written)) {
        throw new StorageError('io', 'Upload size mismatch');
      }
      const digest = info.sha256?.toLowerCase();
      // The metadata set at creation must never claim a digest the bytes do not have.
      if (this.plan.sha256 !== undefined && digest !== this.plan.sha256) {
        throw new StorageError('io', 'Upload digest mismatch');
      }
      const stored = digest !== undefined && SHA256_PATTERN.test(digest) ? digest : undefined;
      const versionKey = this.created ? await this.completeMultipart(stored) : await this.putWhole(stored);
      this.state = 'committed';
      return { versionKey };
    } catch (err) {
      this.state = 'open';
      await this.abort();
      throw toStorageError(err);
    }
  }

  private async putWhole(digest: string | undefined): Promise<string> {
    const body = this.takeBuffered();
    try {
      const out = await this.ctx.client.send(new PutObjectCommand({
        Bucket: this.ctx.bucket,
        Key: this.plan.key,
        Body: body,
        ContentLength: body.length,
        ContentType: CONTENT_TYPE,
        Metadata: digest === undefined ? undefined : { sha256: digest },
        IfNoneMatch: this.plan.replace ? undefined : '*',
      }));
      return versionKeyOf(out.ETag, body.length);
    } catch (err) {
      throw isPreconditionFailed(err) ? existsError(err) : toStorageError(err);
    }
  }

  private async completeMultipart(digest: string | undefined): Promise<string> {
    const uploadId = await this.created!;
    const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    let etag: string;
    try {
      const out = await this.ctx.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.ctx.bucket,
        Key: this.plan.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        IfNoneMatch: this.plan.replace ? undefined : '*',
      }));
      etag = bareEtag(out.ETag);
    } catch (err) {
      throw isPreconditionFailed(err) ? existsError(err) : toStorageError(err);
    }
    // Completed: there is no upload left to abort.
    this.uploadId = undefined;
    this.ctx.activeUploads.delete(uploadId);
    if (digest !== undefined && this.plan.sha256 === undefined && this.written <= MAX_SINGLE_COPY) {
      etag = await this.stampDigest(etag, digest);
    }
    return versionKeyOf(etag, this.written);
  }

  /**
   * Store `digest` on the object just completed, by copying it onto itself
   * with new metadata. Pinned twice: the source must be our version and the
   * destination must still be it, so a writer who replaced it meanwhile
   * keeps their object untouched. Best effort: on any failure the object
   * stays as completed (correct, just without a stored digest).
   */
  private async stampDigest(etag: string, digest: string): Promise<string> {
    try {
      return await copyObject(this.ctx, {
        sourceKey: this.plan.key,
        sourceEtag: etag,
        size: this.written,
        destKey: this.plan.key,
        metadata: { sha256: digest },
        contentType: CONTENT_TYPE,
        ifMatch: etag,
      });
    } catch {
      return etag;
    }
  }

  /** Throw the upload away: cancel parts in flight, then abort the multipart upload. Idempotent. */
  abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'committing') return Promise.resolve();
    this.aborting ??= this.abortNow();
    return this.aborting;
  }

  private async abortNow(): Promise<void> {
    this.state = 'aborted';
    this.chunks = [];
    this.buffered = 0;
    this.cancel.abort();
    if (!this.stream.destroyed) this.stream.destroy();
    await this.settled();
    // Wait for a create in flight: its upload must be aborted too.
    await this.created?.catch(() => undefined);
    const uploadId = this.uploadId;
    if (uploadId === undefined) return;
    this.uploadId = undefined;
    try {
      await this.ctx.client.send(new AbortMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.plan.key, UploadId: uploadId }));
    } catch {
      // Unreachable now: removeStaleUploads (or the bucket's lifecycle rule) takes it later.
    } finally {
      this.ctx.activeUploads.delete(uploadId);
    }
  }
}
