/**
 * Server-side copies, for RENAME of a file and for storing a digest on an
 * object after its upload. Up to `copyThreshold` (S3's limit: 5 GiB) one
 * CopyObject does it; above, a multipart upload whose parts are
 * UploadPartCopy ranges of the source, completed only when every part is in.
 *
 * Both paths pin the source version (`x-amz-copy-source-if-match`), so a
 * source replaced mid-copy fails the copy (412) instead of mixing versions.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { StorageError } from '../errors';
import { bareEtag, copySource } from './keys';
import { MAX_PARTS, type S3Context } from './options';

/** One part of a multipart copy: bytes [start, end] of the source, inclusive as S3 writes ranges. */
export interface CopyPart {
  partNumber: number;
  start: number;
  end: number;
}

/**
 * The parts of a multipart copy of `size` bytes: `partSize` each (the last
 * shorter), with the part size raised when it would take over 10,000 parts.
 */
export function copyPartRanges(size: number, partSize: number): CopyPart[] {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError('copy size must be a positive integer');
  const effective = Math.max(partSize, Math.ceil(size / MAX_PARTS));
  const parts: CopyPart[] = [];
  for (let start = 0, partNumber = 1; start < size; start += effective, partNumber++) {
    parts.push({ partNumber, start, end: Math.min(start + effective, size) - 1 });
  }
  return parts;
}

/** What to copy where, and under which conditions. */
export interface CopyRequest {
  sourceKey: string;
  /** The source version that must be copied (its ETag, bare). */
  sourceEtag: string;
  size: number;
  destKey: string;
  /** The destination's user metadata (always replaced, so both paths behave the same). */
  metadata: Record<string, string>;
  contentType?: string;
  /** Destination condition: `'*'` = must not exist yet. */
  ifNoneMatch?: '*';
  /** Destination condition: must still be this version (bare ETag). */
  ifMatch?: string;
}

/** Copy per `request`; resolves with the new object's bare ETag. S3 errors are thrown as they come. */
export async function copyObject(ctx: S3Context, request: CopyRequest): Promise<string> {
  if (request.size <= ctx.settings.copyThreshold) {
    const result = await ctx.client.send(new CopyObjectCommand({
      Bucket: ctx.bucket,
      Key: request.destKey,
      CopySource: copySource(ctx.bucket, request.sourceKey),
      CopySourceIfMatch: `"${request.sourceEtag}"`,
      MetadataDirective: 'REPLACE',
      Metadata: request.metadata,
      ContentType: request.contentType,
      IfNoneMatch: request.ifNoneMatch,
      IfMatch: request.ifMatch === undefined ? undefined : `"${request.ifMatch}"`,
    }));
    return bareEtag(result.CopyObjectResult?.ETag);
  }
  return multipartCopy(ctx, request);
}

async function multipartCopy(ctx: S3Context, request: CopyRequest): Promise<string> {
  const created = await ctx.client.send(new CreateMultipartUploadCommand({
    Bucket: ctx.bucket,
    Key: request.destKey,
    Metadata: request.metadata,
    ContentType: request.contentType,
  }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new StorageError('io', 'Storage error');
  ctx.activeUploads.add(uploadId);
  try {
    const ranges = copyPartRanges(request.size, ctx.settings.copyPartSize);
    const parts: CompletedPart[] = [];
    // A fixed number of workers over one shared queue: queueSize copies in
    // flight. The first failure stops the others taking parts, and the abort
    // below waits for those in flight (an abort racing a part can leave it).
    const queue = [...ranges];
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      for (let part = queue.shift(); part && !failure; part = queue.shift()) {
        try {
          const result = await ctx.client.send(new UploadPartCopyCommand({
            Bucket: ctx.bucket,
            Key: request.destKey,
            UploadId: uploadId,
            PartNumber: part.partNumber,
            CopySource: copySource(ctx.bucket, request.sourceKey),
            CopySourceRange: `bytes=${part.start}-${part.end}`,
            CopySourceIfMatch: `"${request.sourceEtag}"`,
          }));
          parts.push({ PartNumber: part.partNumber, ETag: result.CopyPartResult?.ETag });
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ctx.settings.queueSize, ranges.length) }, worker));
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const done = await ctx.client.send(new CompleteMultipartUploadCommand({
      Bucket: ctx.bucket,
      Key: request.destKey,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
      IfNoneMatch: request.ifNoneMatch,
      IfMatch: request.ifMatch === undefined ? undefined : `"${request.ifMatch}"`,
    }));
    return bareEtag(done.ETag);
  } catch (err) {
    await ctx.client
      .send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: request.destKey, UploadId: uploadId }))
      .catch(() => {}); // left for removeStaleUploads / the lifecycle rule
    throw err;
  } finally {
    ctx.activeUploads.delete(uploadId);
  }
}
