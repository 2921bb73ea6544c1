import { UsageError } from '../../ui/exit-codes';
import { usageOf, type CommandSpec } from '../command-spec';
import { login } from './account';
import { lcd, lls, lpwd } from './local';
import { cd, ls, mkdir, mv, pwd, rm, rmdir, stat } from './remote';
import { get, mget, put } from './transfer';

/** The shell's commands, in the order `help` shows them. */

const help: CommandSpec = {
  name: 'help',
  aliases: ['?', 'h'],
  args: [{ name: 'COMMAND', required: false, complete: 'command' }],
  flags: {},
  summary: 'show the commands, or one command in detail',
  oneShot: false,
  async run(session, { args }) {
    if (args[0] !== undefined) {
      const spec = findCommand(args[0]);
      if (!spec) throw new UsageError(`unknown command '${args[0]}'; type help for the list`);
      const lines = [`usage: ${usageOf(spec)}`, `  ${spec.summary}`];
      for (const [letter, flag] of Object.entries(spec.flags)) lines.push(`  -${letter}  ${flag.help}`);
      if (spec.aliases.length > 0) lines.push(`  also: ${spec.aliases.join(', ')}`);
      session.print(lines);
      return;
    }
    const rows = COMMANDS.map((c) => [usageOf(c), c.summary] as const);
    const width = Math.max(...rows.map(([u]) => u.length));
    session.print([
      'Commands (case does not matter; Tab completes commands and names):',
      ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    ]);
  },
};

const quit: CommandSpec = {
  name: 'quit',
  aliases: ['exit', 'bye', 'q'],
  args: [],
  flags: {},
  summary: 'close the connection and leave',
  oneShot: false,
  async run() {
    return 'quit';
  },
};

export const COMMANDS: readonly CommandSpec[] = [
  ls, cd, pwd, get, mget, put, rm, mkdir, rmdir, mv, stat, lcd, lls, lpwd, login, help, quit,
];

/** Look a command up by name or alias, ignoring case (`LS` works, as in the seed). */
export function findCommand(word: string): CommandSpec | undefined {
  const lower = word.toLowerCase();
  return COMMANDS.find((c) => c.name === lower || c.aliases.includes(lower));
}

/** Every name and alias, for completion. */
export function commandNames(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...c.aliases]).filter((n) => /^[a-z]/.test(n)).sort();
}
