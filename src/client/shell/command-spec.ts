import type { ClientSession } from './session';
import { UsageError } from '../ui/exit-codes';

/**
 * Commands as data: each shell command declares its names, arguments, flags
 * and help once, and the shell's parser, `help`, tab completion and the
 * one-shot CLI's yargs definitions are all built from that declaration.
 */

/** What Tab completes for an argument. */
export type Completion = 'remote' | 'local' | 'command' | 'none';

export interface ArgSpec {
  name: string;
  required: boolean;
  /** Takes every remaining word (must be the last argument). */
  variadic?: boolean;
  complete: Completion;
}

export interface FlagSpec {
  /** Long form for the one-shot CLI (`--continue` for `-c`). */
  long: string;
  help: string;
}

/** Parsed input of one command: positional words and the short flags set. */
export interface CommandInput {
  args: string[];
  flags: ReadonlySet<string>;
}

/** What a command asks of the shell afterwards. */
export type CommandOutcome = void | 'quit';

export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  args: readonly ArgSpec[];
  /** Short flag letter → its description. */
  flags: Readonly<Record<string, FlagSpec>>;
  summary: string;
  /** Available as `ftp-client NAME …` outside the shell. */
  oneShot: boolean;
  /** Changes the remote side, so cached listings are stale afterwards. */
  mutates?: boolean;
  run(session: ClientSession, input: CommandInput): Promise<CommandOutcome>;
}

/** `get [-c] REMOTE [LOCAL]`. */
export function usageOf(spec: CommandSpec): string {
  const flags = Object.keys(spec.flags);
  const parts = [spec.name];
  if (flags.length > 0) parts.push(`[-${flags.join('')}]`);
  for (const arg of spec.args) {
    const word = arg.variadic ? `${arg.name}...` : arg.name;
    parts.push(arg.required ? word : `[${word}]`);
  }
  return parts.join(' ');
}

/**
 * Split shell words into flags and arguments, and check them against the
 * spec. `-` alone is an argument (standard output); `--` ends the flags.
 * @throws UsageError
 */
export function parseInput(spec: CommandSpec, words: readonly string[]): CommandInput {
  const args: string[] = [];
  const flags = new Set<string>();
  let flagsDone = false;
  for (const word of words) {
    if (!flagsDone && word === '--') {
      flagsDone = true;
    } else if (!flagsDone && word.startsWith('--') && word.length > 2) {
      const short = Object.keys(spec.flags).find((k) => spec.flags[k].long === word.slice(2));
      if (!short) throw new UsageError(`unknown option ${word}; usage: ${usageOf(spec)}`);
      flags.add(short);
    } else if (!flagsDone && word.startsWith('-') && word.length > 1) {
      for (const letter of word.slice(1)) {
        if (!(letter in spec.flags)) throw new UsageError(`unknown option -${letter}; usage: ${usageOf(spec)}`);
        flags.add(letter);
      }
    } else {
      args.push(word);
    }
  }
  const required = spec.args.filter((a) => a.required).length;
  const variadic = spec.args.some((a) => a.variadic);
  if (args.length < required || (!variadic && args.length > spec.args.length)) {
    throw new UsageError(`usage: ${usageOf(spec)}`);
  }
  return { args, flags };
}

/** The spec of the argument at `index`, following a variadic last one. */
export function argAt(spec: CommandSpec, index: number): ArgSpec | undefined {
  const last = spec.args[spec.args.length - 1];
  if (index >= spec.args.length && last?.variadic) return last;
  return spec.args[index];
}
