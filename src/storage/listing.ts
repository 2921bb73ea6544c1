/**
 * Building `LS` and `STAT` entries from disk metadata. A listing shows what a
 * client could reach: temp uploads, links leading out of the root or nowhere,
 * and special files (sockets, FIFOs, devices) are left out silently.
 */
import { promises as fsp, type BigIntStats, type Stats } from 'node:fs';
import { StorageError } from './errors';
import { FS_CONCURRENCY, mapBounded } from './bounded';
import { MESSAGES, mapFsError } from './fs-errors';
import { compareCodePoints, isTempUploadName } from './path-rules';
import type { PathResolver } from './resolver';
import type { StorageEntry } from './storage';

/** The entry for `stats`, or null for kinds no listing shows. */
export function toEntry(name: string, stats: Stats | BigIntStats): StorageEntry | null {
  const mtime = mtimeOf(stats);
  if (stats.isDirectory()) return { name, type: 'dir', size: 0, mtime };
  if (stats.isFile()) return { name, type: 'file', size: Number(stats.size), mtime };
  return null;
}

/**
 * The modification time, rounded to the millisecond as Node rounds
 * `Stats.mtime`, so a time set with utimes(Date) reads back as the same
 * time (flooring would not: the disk keeps e.g. .144999 s for .145).
 * `BigIntStats.mtime` floors instead, which made STAT (bigint stats) and LS
 * (number stats) of one file differ by 1 ms half the time; from bigint
 * stats it is computed here exactly as Node computes `Stats.mtimeMs` from
 * the seconds and nanoseconds, so both agree to the bit.
 */
function mtimeOf(stats: Stats | BigIntStats): Date {
  if (typeof stats.mtimeMs === 'number') return stats.mtime;
  const ns = (stats as BigIntStats).mtimeNs;
  return new Date(Math.round(Number(ns / 1_000_000_000n) * 1_000 + Number(ns % 1_000_000_000n) / 1e6));
}

/** Names described at once: one `opendir` buffer's worth, so a huge folder is never all in memory. */
const BATCH = 256;

/**
 * A folder whose own size (`st_size`) is at most this is read with one
 * `readdir` call: a few thousand names at most, and one thread-pool round
 * trip instead of the four of open, read, read, close. Bigger ones stream.
 */
export const SMALL_FOLDER_BYTES = 64 * 1024;

/** Options of {@link listFolder}. */
export interface ListFolderOptions {
  /** Stop with `too_large` once the shown entries' JSON passes this many bytes. */
  maxReplyBytes?: number;
  /** The folder's `st_size`, when known: small folders are read in one call. */
  folderSize?: number;
}

/**
 * Bytes `entry` adds to a native listing reply: its JSON (the time as ISO
 * text) plus the comma before the next one. Exact for the JSON the native
 * session encodes, so a budget derived from its frame limit stops the
 * listing where the reply would stop fitting; other front ends' replies are
 * of the same order.
 */
export function entryBytes(entry: Pick<StorageEntry, 'name' | 'type' | 'size'> & { mtime: Date | string }): number {
  const mtime = typeof entry.mtime === 'string' ? entry.mtime : entry.mtime.toISOString();
  const json = JSON.stringify({ name: entry.name, type: entry.type, size: entry.size, mtime });
  return Buffer.byteLength(json, 'utf8') + 1;
}

/** The names in `folder`, as a stream unless the folder is known to be small. */
async function* namesIn(folder: string, folderSize: number): AsyncGenerator<string> {
  if (folderSize <= SMALL_FOLDER_BYTES) {
    yield* await fsp.readdir(folder);
    return;
  }
  // Leaving early (a throw in the consumer) closes the directory handle.
  for await (const dirent of await fsp.opendir(folder, { bufferSize: BATCH })) yield dirent.name;
}

/**
 * The entries of the real folder `folder`, sorted by code point. Names are
 * described in batches, each with at most {@link FS_CONCURRENCY} fs calls in
 * flight. With `maxReplyBytes`, reading stops with `too_large` as soon as the shown
 * entries pass it: a folder too big for one reply costs a bounded amount of
 * work and memory, not a whole listing built to be thrown away.
 */
export async function listFolder(resolver: PathResolver, folder: string, options: ListFolderOptions = {}): Promise<StorageEntry[]> {
  const maxBytes = options.maxReplyBytes ?? Infinity;
  const shown: StorageEntry[] = [];
  let bytes = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const entries = await mapBounded(batch, FS_CONCURRENCY, (name) => describeChild(resolver, folder, name));
    batch = [];
    for (const entry of entries) {
      if (entry === null) continue;
      bytes += entryBytes(entry);
      if (bytes > maxBytes) throw new StorageError('too_large', MESSAGES.listingTooLarge);
      shown.push(entry);
    }
  };
  try {
    for await (const name of namesIn(folder, options.folderSize ?? Infinity)) {
      if (isTempUploadName(name)) continue;
      batch.push(name);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } catch (err) {
    throw mapFsError(err);
  }
  return shown.sort((a, b) => compareCodePoints(a.name, b.name));
}

/** A listing entry for `name`, or null when listings leave it out. */
async function describeChild(resolver: PathResolver, folder: string, name: string): Promise<StorageEntry | null> {
  try {
    const info = await resolver.inspect(folder, name);
    return info.kind === 'none' ? null : toEntry(name, info.stats);
  } catch (err) {
    // A link out of the root or dangling (forbidden), or an entry that vanished
    // or cannot be read: left out silently, as the contract requires.
    if (err instanceof StorageError) return null;
    throw err;
  }
}
