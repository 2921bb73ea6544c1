import type { BigIntStats } from 'node:fs';

/**
 * SHA-256 digests of local files, remembered per file version so a second
 * upload of an unchanged file does not read it twice (once to hash, once to
 * send). A version is the file's device, inode, size, and modification and
 * change times in nanoseconds: a write moves mtime and ctime, a replacement
 * changes the inode.
 *
 * A stale entry cannot corrupt anything: the digest travels with the upload
 * and the server refuses bytes that do not match it (422). The uploader then
 * forgets the entry and hashes the file again.
 */
export class LocalDigestCache {
  private readonly entries = new Map<string, string>();

  /** @param capacity entries kept; the least recently used goes first. */
  constructor(private readonly capacity = 1024) {}

  /** The key of the version `stats` (a bigint `fstat`) describes. */
  static keyOf(stats: BigIntStats): string {
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
  }

  get(key: string): string | undefined {
    const digest = this.entries.get(key);
    if (digest !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the oldest use is first.
      this.entries.delete(key);
      this.entries.set(key, digest);
    }
    return digest;
  }

  set(key: string, digest: string): void {
    this.entries.delete(key);
    this.entries.set(key, digest);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The cache {@link uploadFile} uses unless told otherwise: one per process. */
export const processDigests = new LocalDigestCache();
