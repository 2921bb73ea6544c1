/**
 * Multipart uploads left behind by a killed process. Their parts are
 * invisible but billed, so they are aborted — carefully, because other
 * servers of a cluster share the bucket and their uploads in flight look
 * the same from here.
 *
 * An upload is stale when neither it nor any of its parts is younger than
 * `staleUploadAgeMs` (default 1 hour): a live upload adds a part every
 * partSize bytes, and a client that sends nothing for that long has been cut
 * off by the transfer timeout long before. Uploads of this process still in
 * flight are never touched. The bucket lifecycle rule
 * AbortIncompleteMultipartUpload is the belt to these braces (docs/STORAGE-S3.md).
 */
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type ListMultipartUploadsCommandOutput,
  type ListPartsCommandOutput,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import { rethrowStorage } from './errors';
import type { S3Context } from './options';

/** The newest time of any part of the upload (the upload's own start when it has none). */
async function lastActivity(ctx: S3Context, upload: MultipartUpload): Promise<number> {
  let newest = upload.Initiated?.getTime() ?? 0;
  let marker: string | undefined;
  do {
    const page: ListPartsCommandOutput = await ctx.client.send(new ListPartsCommand({
      Bucket: ctx.bucket,
      Key: upload.Key,
      UploadId: upload.UploadId,
      PartNumberMarker: marker,
    }));
    for (const part of page.Parts ?? []) newest = Math.max(newest, part.LastModified?.getTime() ?? 0);
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker);
  return newest;
}

/**
 * Abort the stale multipart uploads whose keys start with `prefix`.
 * @returns how many were aborted.
 */
export async function removeStaleUploads(ctx: S3Context, prefix: string): Promise<number> {
  const cutoff = ctx.clock.now() - ctx.settings.staleUploadAgeMs;
  let removed = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page: ListMultipartUploadsCommandOutput = await ctx.client
      .send(new ListMultipartUploadsCommand({
        Bucket: ctx.bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }))
      .catch(rethrowStorage);
    for (const upload of page.Uploads ?? []) {
      const key = upload.Key ?? '';
      const id = upload.UploadId ?? '';
      if (!key.startsWith(prefix) || id === '' || ctx.activeUploads.has(id)) continue;
      if ((upload.Initiated?.getTime() ?? 0) > cutoff) continue;
      try {
        if ((await lastActivity(ctx, upload)) > cutoff) continue;
        await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: key, UploadId: id }));
        removed++;
      } catch {
        // Completed or aborted by its owner meanwhile, or not ours to abort: best effort.
      }
    }
    const more = page.IsTruncated === true;
    keyMarker = more ? page.NextKeyMarker : undefined;
    uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
  } while (keyMarker !== undefined);
  return removed;
}
