/**
 * What LIST, NLST, MLSD and STAT share: the entries of the folder (or the
 * one file) the client named, and sending listing lines over the data
 * connection with backpressure.
 */
import type { Socket } from 'node:net';
import { TransferAbortedError } from '../../core/errors';
import { waitForDrain } from '../../core/payload';
import type { TransferHooks } from '../../core/transfers';
import { isStorageError } from '../../storage/errors';
import type { StorageEntry } from '../../storage/storage';
import type { CommandContext } from './command';
import { nameForLog, resolveTarget, type Target } from './targets';

/** What a listing command lists. */
export interface Listed {
  target: Target;
  entries: StorageEntry[];
  /** The client named a file, not a folder: its one entry is listed. */
  single: boolean;
}

/** Lines are sent in writes of about this many bytes. */
const WRITE_BYTES = 64 * 1024;

/**
 * The entries of the folder at `path` (the working directory when
 * absent), or the one entry of a file. The storage bounds the work a huge
 * folder costs (550 "Directory listing too large").
 */
export async function listEntries(context: CommandContext, path: string | undefined): Promise<Listed> {
  const target = resolveTarget(context, path ?? '.');
  const { storage, services } = context;
  try {
    const entries = await storage.list(target.parts, { maxReplyBytes: services.limits.maxServerFrameBytes });
    return { target, entries, single: false };
  } catch (err) {
    if (!isStorageError(err, 'not_folder')) throw err;
    return { target, entries: [await storage.stat(target.parts)], single: true };
  }
}

/** A WARNING for a name a listing leaves out (it holds CR or LF: see listing-format.ts). */
export function omittedName(context: CommandContext, verb: string, folder: string): (entry: StorageEntry) => void {
  return (entry) => context.session.log.warn(`${verb}: Left out a name holding CR or LF - ${nameForLog(`${folder}/${entry.name}`)}`);
}

/** Write `lines` to the data connection, waiting for it to drain between writes. */
export async function sendLines(socket: Socket, lines: Iterable<string>, hooks: TransferHooks): Promise<number> {
  let batch = '';
  let sent = 0;
  const flush = async (): Promise<void> => {
    const bytes = Buffer.from(batch, 'utf8');
    batch = '';
    if (socket.destroyed) throw new TransferAbortedError('connection closed during listing', sent);
    sent += bytes.length;
    hooks.progress(bytes.length);
    if (!socket.write(bytes)) {
      await waitForDrain(socket).catch(() => {
        throw new TransferAbortedError('connection closed during listing', sent);
      });
    }
  };
  for (const line of lines) {
    batch += line;
    if (batch.length >= WRITE_BYTES) await flush();
  }
  if (batch.length > 0) await flush();
  return sent;
}
