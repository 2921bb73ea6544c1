/**
 * The SHA-256 of a whole file for FTP's HASH command, from where the
 * transfer layer keeps them: the digest cache (filled by every upload and
 * whole download), the backend's stored digest, or else computed once, on
 * the shared hash thread where the file has a descriptor (inline from a
 * stream otherwise), and cached for the next HASH or download. Keyed by the
 * file's version, so a digest is never served for bytes that changed.
 */
import { createHash } from 'node:crypto';
import type { TransferService } from '../core/transfers';
import type { StoragePath } from '../storage/path-rules';
import type { Storage } from '../storage/storage';

/** The digest of the whole file at `path` as it is now, and its size. */
export async function wholeFileDigest(transfers: TransferService, storage: Storage, path: StoragePath): Promise<{ sha256: string; size: number }> {
  const { digests, hasher } = transfers.deps;
  const file = await storage.openRead(path);
  try {
    const known = digests.get(file.versionKey) ?? file.storedSha256;
    if (known !== undefined) return { sha256: known, size: file.size };
    const ticket = file.fd !== undefined && file.size > 0 ? hasher.request(file.versionKey, file.fd, 0, file.size) : undefined;
    let sha256: string;
    if (ticket) {
      try {
        sha256 = await ticket.digest;
      } catch (err) {
        await ticket.leave();
        throw err;
      }
    } else {
      const hash = createHash('sha256');
      for await (const chunk of file.createReadStream(0, file.size)) hash.update(chunk as Buffer);
      sha256 = hash.digest('hex');
    }
    digests.set(file.versionKey, sha256);
    return { sha256, size: file.size };
  } finally {
    await file.close();
  }
}
