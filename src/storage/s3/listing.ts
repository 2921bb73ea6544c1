/**
 * Folders on S3: a listing is ListObjectsV2 with Delimiter `/`, paged with
 * ContinuationToken; files come from Contents (size and time from the
 * listing, no request per entry), folders from CommonPrefixes.
 *
 * Decisions (docs/STORAGE-S3.md):
 * - A folder's mtime is the Unix epoch: a common prefix has no time, and
 *   finding its marker's time would cost a request per folder. LS and STAT
 *   agree on it.
 * - Times are cut to whole seconds: HeadObject reports seconds (an HTTP
 *   date) while listings may carry milliseconds; cutting keeps LS and STAT
 *   equal for the same object.
 * - Keys whose last part no client could name (`.`, `..`, a backslash, an
 *   empty part from `a//b`, over 255 bytes, a reserved upload name) are left
 *   out, as LocalStorage leaves out what a client cannot reach.
 * - A name that is both an object and a prefix (possible only through other
 *   tools or a race) is shown once, as the file: stat/GET/DELETE see the file.
 */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { compareCodePoints } from '../path-rules';
import { StorageError } from '../errors';
import { type StorageEntry } from '../storage';
import { rethrowStorage } from './errors';
import { isClientName } from './keys';
import type { S3Context } from './options';

/** What every folder reports as its modification time. */
export const FOLDER_MTIME = new Date(0);

/** `date` cut to whole seconds (see the file comment). */
export function toSeconds(date: Date | undefined): Date {
  const ms = date ? date.getTime() : 0;
  return new Date(ms - (((ms % 1000) + 1000) % 1000));
}

/** Approximate JSON size of one entry in a native LS reply. */
function replyBytes(entry: StorageEntry): number {
  // {"name":…,"type":"file","size":…,"mtime":"YYYY-MM-DDTHH:MM:SS.sssZ"},
  return Buffer.byteLength(JSON.stringify(entry.name), 'utf8') + 60 + String(entry.size).length;
}

/** A folder's entries, and whether any key at all (even a hidden one or its marker) is under it. */
export interface FolderListing {
  entries: StorageEntry[];
  exists: boolean;
}

/**
 * List the folder whose keys start with `folderPrefix`, sorted by code point.
 * @throws StorageError too_large as soon as the entries pass `maxReplyBytes`
 *   (paging stops there: a huge folder costs one page, not all of them).
 */
export async function listFolder(ctx: S3Context, folderPrefix: string, maxReplyBytes?: number): Promise<FolderListing> {
  const byName = new Map<string, StorageEntry>();
  let exists = false;
  let budget = maxReplyBytes ?? Infinity;
  const add = (entry: StorageEntry) => {
    const known = byName.get(entry.name);
    if (known && (known.type === 'file' || entry.type === 'dir')) return;
    if (!known) budget -= replyBytes(entry);
    if (budget < 0) throw new StorageError('too_large', 'Folder listing too large');
    byName.set(entry.name, entry);
  };
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await ctx.client
      .send(new ListObjectsV2Command({
        Bucket: ctx.bucket,
        Prefix: folderPrefix,
        Delimiter: '/',
        MaxKeys: ctx.settings.listPageSize,
        ContinuationToken: token,
      }))
      .catch(rethrowStorage);
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? '';
      if (!key.startsWith(folderPrefix)) continue; // never trust the server to filter
      exists = true;
      const name = key.slice(folderPrefix.length);
      if (!isClientName(name)) continue; // the marker itself ('') and unreachable names
      add({ name, type: 'file', size: object.Size ?? 0, mtime: toSeconds(object.LastModified) });
    }
    for (const common of page.CommonPrefixes ?? []) {
      const prefix = common.Prefix ?? '';
      if (!prefix.startsWith(folderPrefix) || !prefix.endsWith('/')) continue;
      exists = true;
      const name = prefix.slice(folderPrefix.length, -1);
      if (!isClientName(name)) continue;
      add({ name, type: 'dir', size: 0, mtime: FOLDER_MTIME });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const entries = [...byName.values()].sort((a, b) => compareCodePoints(a.name, b.name));
  return { entries, exists };
}

/** True when any key (a marker or content) starts with `folderPrefix`. */
export async function folderExists(ctx: S3Context, folderPrefix: string): Promise<boolean> {
  const page = await ctx.client
    .send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: folderPrefix, MaxKeys: 1 }))
    .catch(rethrowStorage);
  return (page.Contents ?? []).some((object) => (object.Key ?? '').startsWith(folderPrefix));
}

/**
 * Up to `limit` keys under `folderPrefix` at any depth (no delimiter), for
 * RMDIR's emptiness check.
 */
export async function keysUnder(ctx: S3Context, folderPrefix: string, limit: number): Promise<string[]> {
  const page = await ctx.client
    .send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: folderPrefix, MaxKeys: limit }))
    .catch(rethrowStorage);
  return (page.Contents ?? []).map((object) => object.Key ?? '').filter((key) => key.startsWith(folderPrefix));
}
