import readline from 'node:readline';
import { EXIT, exitCodeFor, UsageError } from '../ui/exit-codes';
import { MutableOutput, PromptCancelled } from '../ui/hidden-prompt';
import { errorLine } from '../ui/format';
import { parseInput, type CommandInput, type CommandSpec } from './command-spec';
import { findCommand } from './commands';
import { readlineCompleter } from './completer';
import { HISTORY_SIZE, loadHistory, saveHistory } from './history';
import type { ClientSession } from './session';
import { tokenize } from './tokenize';

/** Where the shell reads commands and whether a person is typing them. */
export interface ShellIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A terminal on both ends: prompt, line editing, Tab, history, Ctrl-C. */
  interactive: boolean;
  /** History file for interactive use (`null`: none). */
  historyFile: string | null;
}

/** What one command line did. */
export interface LineResult {
  quit: boolean;
  /** 0 on success, else the exit code for the failure. */
  exitCode: number;
}

/**
 * Run one command line. Failures are printed as one line on stderr and
 * turned into an exit code; nothing is thrown.
 */
export async function runCommandLine(session: ClientSession, line: string): Promise<LineResult> {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { quit: false, exitCode: EXIT.OK };
  const { words, unterminated } = tokenize(trimmed);
  const spec = findCommand(words[0]);
  let input: CommandInput;
  try {
    if (unterminated) throw new UsageError('unterminated quote');
    if (!spec) throw new UsageError(`unknown command '${words[0]}'; type help for the list`);
    input = parseInput(spec, words.slice(1));
  } catch (err) {
    session.warn(errorLine(spec?.name ?? '', err));
    return { quit: false, exitCode: exitCodeFor(err) };
  }
  return runCommand(session, spec, input);
}

/** Run one parsed command (the shell's lines and the one-shot CLI both end here). */
export async function runCommand(session: ClientSession, spec: CommandSpec, input: CommandInput): Promise<LineResult> {
  try {
    const outcome = await spec.run(session, input);
    return { quit: outcome === 'quit', exitCode: EXIT.OK };
  } catch (err) {
    session.warn(errorLine(spec.name, err));
    return { quit: false, exitCode: exitCodeFor(err) };
  } finally {
    if (spec.mutates) session.invalidate();
  }
}

/**
 * The interactive shell (also fed by a pipe: `printf 'ls\nquit\n' | ftp-client`).
 * Connects first, so a refusal or a network error is reported at once.
 *
 * @returns 0 when every command worked, else the exit code of the last failure.
 */
export async function runShell(session: ClientSession, io: ShellIo): Promise<number> {
  try {
    const client = await session.connection();
    if (io.interactive) {
      const g = client.greeting;
      const about = [g.server, g.protocol !== undefined ? `protocol ${g.protocol}` : undefined].filter(Boolean).join(', ');
      session.print([
        `Connected to ${session.options.host}:${session.options.port}${about ? ` (${about})` : ''}.`,
        `Local folder: ${session.localDir}. Type help for commands, quit to leave.`,
      ]);
    }
  } catch (err) {
    session.warn(errorLine('', err));
    return exitCodeFor(err);
  }

  let history: string[] = io.interactive ? loadHistory(io.historyFile) : [];
  // readline echoes through this, so a password typed at `login` can be hidden.
  const output = new MutableOutput(io.output);
  const rl = readline.createInterface({
    input: io.input,
    terminal: io.interactive,
    prompt: 'ftp> ',
    ...(io.interactive
      ? { output, completer: readlineCompleter(session), history, historySize: HISTORY_SIZE, removeHistoryDuplicates: true }
      : {}),
  });
  rl.on('history', (lines: string[]) => { history = lines; });
  let cancelSecret: (() => void) | undefined;
  if (io.interactive) {
    session.setPasswordPrompt((prompt) => askSecret(rl, output, prompt, (cancel) => { cancelSecret = cancel; }));
  }

  let running = false;
  rl.on('SIGINT', () => {
    if (cancelSecret) {
      cancelSecret();
      return;
    }
    if (running) {
      // Dropping the connection is the only way to stop a payload mid-way;
      // the next command reconnects, and `get -c` resumes the .part.
      session.abort();
      return;
    }
    io.output.write('^C (type quit to leave)\n');
    rl.write(null, { ctrl: true, name: 'u' });
    rl.prompt();
  });

  let lastFailure = EXIT.OK as number;
  try {
    if (io.interactive) rl.prompt();
    for await (const line of rl) {
      running = true;
      const result = await runCommandLine(session, line);
      running = false;
      if (result.exitCode !== EXIT.OK) lastFailure = result.exitCode;
      if (result.quit) break;
      if (io.interactive) rl.prompt();
    }
  } finally {
    session.setPasswordPrompt(undefined);
    rl.close();
    if (io.interactive) saveHistory(io.historyFile, history);
    await session.close().catch(() => undefined);
  }
  return lastFailure;
}

/**
 * Ask for a password through the shell's own line editor: its echo is muted
 * and history is off while the answer is typed, so the secret shows neither
 * on screen nor in the history file. Ctrl-C cancels.
 */
function askSecret(
  rl: readline.Interface,
  output: MutableOutput,
  prompt: string,
  onCancel: (cancel: (() => void) | undefined) => void,
): Promise<string> {
  const editor = rl as readline.Interface & { historySize: number };
  const savedSize = editor.historySize;
  const controller = new AbortController();
  return new Promise<string>((resolve, reject) => {
    const done = () => {
      output.muted = false;
      editor.historySize = savedSize;
      onCancel(undefined);
      output.write('\n');
    };
    controller.signal.addEventListener('abort', () => {
      done();
      reject(new PromptCancelled());
    }, { once: true });
    onCancel(() => controller.abort());
    editor.historySize = 0;
    rl.question(prompt, { signal: controller.signal }, (answer) => {
      done();
      resolve(answer);
    });
    // The prompt is out; from here on, keys are not echoed.
    output.muted = true;
  });
}
