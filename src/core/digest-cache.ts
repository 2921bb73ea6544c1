/** What a {@link DigestCache} was asked, since it was made. */
export interface DigestCacheCounts {
  /** Lookups that found the digest: a file version not hashed again. */
  hits: number;
  /** Lookups that did not. */
  misses: number;
}

/**
 * SHA-256 digests of whole files, keyed by the file version they were
 * computed for (`DownloadSource.versionKey`; on a local disk: device, inode, size, mtime, ctime).
 * A new upload is a new inode and any in-place write moves ctime, so a stale
 * digest can never be served for changed bytes. Bounded, least recently used
 * entries go first.
 */
export class DigestCache {
  private readonly entries = new Map<string, string>();
  private readonly lookups: DigestCacheCounts = { hits: 0, misses: 0 };

  constructor(private readonly capacity = 10_000) {}

  get(versionKey: string): string | undefined {
    const digest = this.entries.get(versionKey);
    if (digest !== undefined) {
      this.lookups.hits += 1;
      // Re-insert to mark as recently used (Map keeps insertion order).
      this.entries.delete(versionKey);
      this.entries.set(versionKey, digest);
    } else {
      this.lookups.misses += 1;
    }
    return digest;
  }

  /** Lookups answered from the cache and not, since it was made: what saved a hash, for tests and status. */
  get counts(): Readonly<DigestCacheCounts> {
    return { ...this.lookups };
  }

  set(versionKey: string, digest: string): void {
    this.entries.delete(versionKey);
    this.entries.set(versionKey, digest);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
