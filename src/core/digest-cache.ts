/**
 * SHA-256 digests of whole files, keyed by the file version they were
 * computed for (`OpenedFile.versionKey`: device, inode, size, mtime, ctime).
 * A new upload is a new inode and any in-place write moves ctime, so a stale
 * digest can never be served for changed bytes. Bounded, least recently used
 * entries go first.
 */
export class DigestCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly capacity = 10_000) {}

  get(versionKey: string): string | undefined {
    const digest = this.entries.get(versionKey);
    if (digest !== undefined) {
      // Re-insert to mark as recently used (Map keeps insertion order).
      this.entries.delete(versionKey);
      this.entries.set(versionKey, digest);
    }
    return digest;
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
