import type { BigIntStats } from 'node:fs';

/**
 * The identity of one version of a file: device, inode, size, and the
 * nanosecond mtime and ctime. A new upload is a new inode; an in-place write
 * moves ctime (which no user can set back), so equal keys mean equal bytes.
 */
export function versionKeyOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}
