import fs from 'node:fs/promises';
import { MAX_VERSION_LENGTH } from '../protocol/messages';
import { localError } from './errors';
import { acceptableVersion } from './replies';

/**
 * The remote file's version kept beside a partial download, so that a resume
 * asks for the rest of that version only (`if_version`) and is never spliced
 * onto another one. A plain text file, `NAME.part.version`, holding exactly
 * the version string the server sent; removed with the `.part`.
 */

/** Appended to the `.part` path. */
export const PART_VERSION_SUFFIX = '.version';

/**
 * The version recorded for `partPath`, or `undefined` when none was (a `.part`
 * from an older client or from a server without versions) or the record is
 * unusable: either way the `.part` cannot be proven to match the remote file.
 */
export async function readPartVersion(partPath: string): Promise<string | undefined> {
  const file = partPath + PART_VERSION_SUFFIX;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw localError(err, file);
  }
  try {
    // Read a bounded amount: the sidecar is ours, but it sits in a user folder.
    const buffer = Buffer.alloc(MAX_VERSION_LENGTH * 4 + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return acceptableVersion(buffer.subarray(0, bytesRead).toString('utf8'));
  } catch (err) {
    throw localError(err, file);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Record `version` for `partPath`; must finish before any byte of that version is appended. */
export async function writePartVersion(partPath: string, version: string): Promise<void> {
  const file = partPath + PART_VERSION_SUFFIX;
  try {
    await fs.writeFile(file, version, 'utf8');
  } catch (err) {
    throw localError(err, file);
  }
}

/** Forget the version of `partPath` (done with it, or starting over). */
export async function removePartVersion(partPath: string): Promise<void> {
  const file = partPath + PART_VERSION_SUFFIX;
  try {
    await fs.rm(file, { force: true });
  } catch (err) {
    throw localError(err, file);
  }
}
