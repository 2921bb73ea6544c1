import { authCommand } from './auth';
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

/** Commands that exist only when accounts are on (and only then appear in `features`). */
export const ACCOUNT_COMMANDS: readonly CommandHandler[] = [authCommand];

/**
 * The commands a server offers: the built-in ones, plus `AUTH` when it has
 * accounts. Without accounts `AUTH` is an unknown command (400), so a client
 * can tell from `features` whether logging in means anything.
 */
export function commandsFor(options: { accounts: boolean }): CommandRegistry {
  return new CommandRegistry(options.accounts ? [...BUILTIN_COMMANDS, ...ACCOUNT_COMMANDS] : BUILTIN_COMMANDS);
}

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
