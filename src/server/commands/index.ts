import type { CommandHandler } from './command';
import { deleteCommand } from './delete';
import { getCommand } from './get';
import { lsCommand } from './ls';
import { mkdirCommand } from './mkdir';
import { putCommand } from './put';
import { quitCommand } from './quit';
import { renameCommand } from './rename';
import { rmdirCommand } from './rmdir';
import { statCommand } from './stat';

/** The commands of protocol v1, in the order the greeting advertises them. */
export const BUILTIN_COMMANDS: readonly CommandHandler[] = [
  lsCommand,
  getCommand,
  putCommand,
  quitCommand,
  deleteCommand,
  mkdirCommand,
  rmdirCommand,
  renameCommand,
  statCommand,
];

/** Look commands up by name, case-insensitively. */
export class CommandRegistry {
  private readonly byName = new Map<string, CommandHandler>();

  constructor(commands: readonly CommandHandler[] = BUILTIN_COMMANDS) {
    for (const command of commands) this.byName.set(command.name.toUpperCase(), command);
  }

  get(name: string): CommandHandler | undefined {
    return this.byName.get(name.toUpperCase());
  }

  /** Names for the greeting's `features`. */
  get names(): string[] {
    return [...this.byName.keys()];
  }
}
