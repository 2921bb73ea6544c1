/**
 * Helpers the path-taking commands share: resolving the argument inside the
 * session's root, and the names their log lines and replies show.
 */
export { nameForLog } from '../../core/transfers';
import { parseClientPath, type StoragePath } from '../../storage/path-rules';
import type { StorageEntry } from '../../storage/storage';
import { FtpReplyError } from '../error-replies';
import { resolveFtpPath } from '../ftp-paths';
import type { CommandContext } from './command';

/** A client path resolved against the working directory: the clean absolute text and the parts storage takes. */
export interface Target {
  /** `/a/b`, as replies (257, MLST) show it. */
  path: string;
  parts: StoragePath;
}

/**
 * Resolve `arg` (default: the command's argument) against the session's
 * working directory. Throws `FtpPathError` for a path the rules refuse
 * (answered from the storage table: 501/553/550).
 */
export function resolveTarget(context: CommandContext, arg: string = context.arg): Target {
  const path = resolveFtpPath(context.session.state.cwd, arg);
  return { path, parts: parseClientPath(path) };
}

/** The target of a transfer command, which must name a file (not the root). */
export function fileTarget(context: CommandContext): Target {
  const target = resolveTarget(context);
  if (target.parts.length === 0) throw new FtpReplyError(550, 'Not a plain file');
  return target;
}

/** A plain file's entry, or 550 for a folder. */
export async function statFile(context: CommandContext, target: Target): Promise<StorageEntry> {
  const entry = await context.storage.stat(target.parts);
  if (entry.type !== 'file') throw new FtpReplyError(550, 'Not a plain file');
  return entry;
}
