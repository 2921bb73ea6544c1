import { StorageError } from '../../storage/errors';
import type { CommandContext, CommandReply, FtpCommand } from './command';
import { resolveTarget } from './targets';

/** Move the working directory to `path`, once the storage confirms it is a folder inside the root. */
export async function changeTo(context: CommandContext, path: string): Promise<CommandReply> {
  const target = resolveTarget(context, path);
  const entry = await context.storage.stat(target.parts);
  if (entry.type !== 'dir') throw new StorageError('not_folder', 'Not a directory');
  context.session.state.cwd = target.path;
  return { code: 250, text: 'Directory successfully changed' };
}

/** `CWD path` (and `XCWD`). */
export const cwdCommand: FtpCommand = {
  verb: 'CWD',
  aliases: ['XCWD'],
  syntax: 'CWD <SP> <pathname>',
  argument: 'required',
  // Paths are `/`-separated from one root, names are any bytes but `/` and NUL: RFC 3659 §6's trivial virtual file store.
  features: () => ['TVFS'],
  run: (context) => changeTo(context, context.arg),
};
