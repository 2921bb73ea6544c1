/**
 * Building `LS` and `STAT` entries from disk metadata. A listing shows what a
 * client could reach: temp uploads, links leading out of the root or nowhere,
 * and special files (sockets, FIFOs, devices) are left out silently.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { ProtocolError } from '../protocol/errors';
import type { FileEntry } from '../protocol/messages';
import { FS_CONCURRENCY, mapBounded } from './bounded';
import { rethrowMapped } from './fs-errors';
import { compareCodePoints, isTempUploadName } from './path-rules';
import type { PathResolver } from './resolver';

/** The contract's entry for `stats`, or null for kinds it does not show. */
export function toEntry(name: string, stats: Stats): FileEntry | null {
  // Node's Date for the mtime rounds to the millisecond, so a time set with
  // utimes(Date) reads back as the same ISO string (flooring mtimeMs would
  // not: the disk keeps e.g. .144999 s for .145).
  const mtime = stats.mtime.toISOString();
  if (stats.isDirectory()) return { name, type: 'dir', size: 0, mtime };
  if (stats.isFile()) return { name, type: 'file', size: stats.size, mtime };
  return null;
}

/**
 * The entries of the real folder `folder`, sorted by code point. Entries are
 * described with at most {@link FS_CONCURRENCY} fs calls in flight.
 */
export async function listFolder(resolver: PathResolver, folder: string): Promise<FileEntry[]> {
  const names = (await fsp.readdir(folder).catch(rethrowMapped)).filter((name) => !isTempUploadName(name));
  const entries = await mapBounded(names, FS_CONCURRENCY, (name) => describeChild(resolver, folder, name));
  const shown = entries.filter((entry): entry is FileEntry => entry !== null);
  return shown.sort((a, b) => compareCodePoints(a.name, b.name));
}

/** A listing entry for `name`, or null when listings leave it out. */
async function describeChild(resolver: PathResolver, folder: string, name: string): Promise<FileEntry | null> {
  try {
    const info = await resolver.inspect(folder, name);
    return info.kind === 'none' ? null : toEntry(name, info.stats);
  } catch (err) {
    // A link out of the root or dangling (403), or an entry that vanished
    // or cannot be read: left out silently, as the contract requires.
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}
