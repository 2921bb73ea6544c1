import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import { FtpClient } from '../src/client/ftp-client';
import { DiscardSink } from '../src/tools/integrity';

/**
 * Phase 1: one large file down and up through the project's client library,
 * and SHA-256 alone over the same bytes, to show what the hashing costs.
 */

/** Read size for local files in this phase: loopback is far faster with big writes than with 64 KiB. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** Write `size` random bytes to `file`, 1 MiB at a time. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await fs.promises.open(file, 'w');
  try {
    const block = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
    for (let written = 0; written < size; written += block.length) {
      randomFillSync(block);
      const n = Math.min(block.length, size - written);
      await handle.write(block, 0, n);
    }
  } finally {
    await handle.close();
  }
}

/** A timed SHA-256 pass over a file: its hex digest and the rate in 10^6 bytes/s (reading included). */
export async function hashFile(file: string): Promise<{ sha256: string; mbPerSec: number }> {
  const started = process.hrtime.bigint();
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { sha256: hash.digest('hex'), mbPerSec: bytes / 1e6 / seconds };
}

/** Where to connect and what to move. */
export interface TransferTarget {
  port: number;
  timeoutMs: number;
}

/**
 * Download `remote` once into a discarding sink; fails unless the bytes hash
 * to `sha256`. @returns 10^6 bytes per second.
 */
export async function timedDownload(target: TransferTarget, remote: string, size: number, sha256: string): Promise<number> {
  const client = await FtpClient.connect({ host: '127.0.0.1', port: target.port, timeoutMs: target.timeoutMs });
  try {
    const started = process.hrtime.bigint();
    const result = await client.get(remote, new DiscardSink());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.bytes !== size || result.sha256 !== sha256) {
      throw new Error(`download of ${remote} came back as ${result.bytes} bytes hashing to ${result.sha256}`);
    }
    return size / 1e6 / seconds;
  } finally {
    await client.quit();
  }
}

/**
 * Upload `file` once as `remote` the way a user of the library does
 * (`client.upload`): its SHA-256 travels with the request and the server
 * checks it. With `remember`, the digest of an unchanged file comes from the
 * process's cache after its first upload; without, the file is hashed first
 * on every call. @returns 10^6 bytes per second.
 */
export async function timedUpload(
  target: TransferTarget, file: string, remote: string, size: number, sha256: string, remember = true,
): Promise<number> {
  const client = await FtpClient.connect({ host: '127.0.0.1', port: target.port, timeoutMs: target.timeoutMs });
  try {
    const started = process.hrtime.bigint();
    const result = await client.upload(file, remote, remember ? {} : { digests: null });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.sha256 !== sha256 || result.bytes !== size) throw new Error(`upload of ${remote} was confirmed as ${result.bytes} bytes, ${result.sha256}`);
    return size / 1e6 / seconds;
  } finally {
    await client.quit();
  }
}
