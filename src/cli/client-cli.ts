import fs from 'node:fs';
import yargs, { type Argv } from 'yargs';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_CLIENT_TIMEOUT_MS } from '../client/connection';
import type { CommandSpec } from '../client/shell/command-spec';
import { COMMANDS, findCommand } from '../client/shell/commands';
import { historyFile } from '../client/shell/history';
import { ClientSession } from '../client/shell/session';
import { runCommand, runShell } from '../client/shell/shell';
import { EXIT, EXIT_CODE_HELP } from '../client/ui/exit-codes';
import { promptHidden, type PromptInput } from '../client/ui/hidden-prompt';
import { visible } from '../client/ui/terminal-text';

/**
 * `ftp-client`: the only place that reads argv and the environment for the
 * client. With a command it runs that one command and exits (for scripts);
 * without one it opens the interactive shell.
 */

/** The process surroundings, injectable so tests run the CLI in-process. */
export interface CliIo {
  stdin: Readable & PromptInput;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const DEFAULT_CLIENT_HOST = '127.0.0.1';
const DEFAULT_CLIENT_PORT = 5002;

/** yargs reads a lone `-` as an empty string; it travels through parsing as this. */
const DASH = '\u0000-';

/** Options that take a value, so the command word can be found before yargs runs. */
const VALUE_OPTIONS = new Set(['--host', '-H', '--port', '-p', '--dir', '-d', '--timeout', '-t', '--user', '-u', '--ca']);

/**
 * Run the client with `argv` (without `node` and the script).
 * @returns the exit code; the caller sets `process.exitCode`.
 */
export async function main(argv: readonly string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = {
    stdin: partialIo.stdin ?? process.stdin,
    stdout: partialIo.stdout ?? process.stdout,
    stderr: partialIo.stderr ?? process.stderr,
    env: partialIo.env ?? process.env,
    cwd: partialIo.cwd ?? process.cwd(),
  };
  if (io.stdout === process.stdout) {
    // `ftp-client ls | head` closes the pipe early: that is not a crash.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  const parsed = parseArgs(normaliseCommandWord(argv), io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { args, spec } = parsed;
  // FTP_SERVER_PASSWORD is the older name, still read.
  const password = io.env.FTP_PASSWORD ?? io.env.FTP_SERVER_PASSWORD;
  const stdin = io.stdin;
  const canAsk = stdin.isTTY === true && typeof stdin.setRawMode === 'function';

  const session = new ClientSession({
    host: args.host,
    port: args.port,
    timeoutMs: Math.round(args.timeout * 1000),
    localDir: args.dir,
    stdout: io.stdout,
    stderr: io.stderr,
    progress: io.stdout.isTTY === true && io.stderr.isTTY === true,
    json: args.json,
    ...(args.user !== undefined ? { user: args.user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(args.tls ? { tls: args.ca !== undefined ? { ca: args.ca } : {} } : {}),
    // Asked on stderr, so a one-shot `get FILE -` keeps stdout clean.
    ...(canAsk ? { askPassword: (prompt: string) => promptHidden(stdin, io.stderr, prompt) } : {}),
  });

  if (!spec) {
    const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
    return runShell(session, { input: io.stdin, output: io.stdout, interactive, historyFile: historyFile(io.env) });
  }
  try {
    const flags = new Set(Object.keys(spec.flags).filter((letter) => args.raw[letter] === true));
    const positional = spec.args.flatMap((a) => {
      const value = args.raw[a.name.toLowerCase()];
      if (value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).map((v) => (v === DASH ? '-' : String(v)));
    });
    return (await runCommand(session, spec, { args: positional, flags })).exitCode;
  } finally {
    await session.close().catch(() => undefined);
  }
}

interface GlobalArgs {
  host: string;
  port: number;
  dir: string;
  json: boolean;
  timeout: number;
  user: string | undefined;
  tls: boolean;
  /** PEM text of `--ca`. */
  ca: string | undefined;
  raw: Record<string, unknown>;
}

/** Parse argv with yargs; help, version and usage errors come back as an exit code. */
function parseArgs(argv: readonly string[], io: CliIo): { args: GlobalArgs; spec: CommandSpec | undefined } | { exitCode: number } {
  const envPort = io.env.FTP_SERVER_PORT;
  let parser: Argv = yargs()
    .scriptName('ftp-client')
    .usage('Usage: $0 [options] [command]\n\nWithout a command, opens an interactive shell (type help inside it).')
    .option('host', { alias: 'H', type: 'string', default: io.env.FTP_SERVER_HOST || DEFAULT_CLIENT_HOST, describe: 'server host (env FTP_SERVER_HOST)' })
    .option('port', { alias: 'p', type: 'number', default: envPort ? Number(envPort) : DEFAULT_CLIENT_PORT, describe: 'server port (env FTP_SERVER_PORT)' })
    .option('dir', { alias: 'd', type: 'string', default: io.cwd, defaultDescription: 'current folder', describe: 'local folder for downloads and relative local paths' })
    .option('json', { type: 'boolean', default: false, describe: 'print results as JSON lines (one-shot commands)' })
    .option('timeout', { alias: 't', type: 'number', default: DEFAULT_CLIENT_TIMEOUT_MS / 1000, describe: 'seconds without progress before giving up' })
    .option('user', { alias: 'u', type: 'string', default: io.env.FTP_SERVER_USER, describe: 'log in as this user (password from a prompt, or env FTP_PASSWORD)' })
    .option('tls', { type: 'boolean', default: io.env.FTP_CLIENT_TLS === '1', describe: 'connect with TLS; the server certificate is always checked (env FTP_CLIENT_TLS=1)' })
    .option('ca', { type: 'string', default: io.env.FTP_CLIENT_CA, describe: 'trust this PEM certificate (a self-signed server\'s cert.pem) instead of the system CAs; implies --tls (env FTP_CLIENT_CA)' })
    .strict()
    .exitProcess(false)
    .help()
    .alias('help', 'h')
    .version('1.0.0')
    .epilog(EXIT_CODE_HELP)
    .wrap(Math.min(100, io.stdout.columns ?? 100));
  for (const spec of COMMANDS.filter((c) => c.oneShot)) parser = addCommand(parser, spec);

  let output = '';
  let failure: string | null = null;
  let result: Record<string, unknown> | undefined;
  parser.fail((msg, err) => {
    failure = msg ?? err?.message ?? 'invalid arguments';
  });
  try {
    result = parser.parse([...argv], {}, (err, _argv, out) => {
      if (err && !failure) failure = err.message;
      output = out;
    }) as Record<string, unknown>;
  } catch (err) {
    failure = (err as Error).message;
  }
  if (failure !== null) {
    io.stderr.write(`ftp-client: ${visible(String(failure))}\nTry 'ftp-client --help'.\n`);
    return { exitCode: EXIT.USAGE };
  }
  if (output) {
    io.stdout.write(`${output}\n`);
    return { exitCode: EXIT.OK };
  }
  const raw = result ?? {};
  const port = raw.port as number;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    io.stderr.write(`ftp-client: invalid port ${visible(String(raw.port))}\n`);
    return { exitCode: EXIT.USAGE };
  }
  const timeout = raw.timeout as number;
  if (!(timeout > 0)) {
    io.stderr.write(`ftp-client: invalid timeout ${visible(String(raw.timeout))}\n`);
    return { exitCode: EXIT.USAGE };
  }
  let ca: string | undefined;
  if (typeof raw.ca === 'string' && raw.ca !== '') {
    try {
      ca = fs.readFileSync(raw.ca, 'utf8');
    } catch (err) {
      io.stderr.write(`ftp-client: cannot read --ca ${visible(`${raw.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)}\n`);
      return { exitCode: EXIT.USAGE };
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      io.stderr.write(`ftp-client: --ca ${visible(raw.ca)} holds no PEM certificate\n`);
      return { exitCode: EXIT.USAGE };
    }
  }
  const word = (raw._ as unknown[] | undefined)?.[0];
  const spec = typeof word === 'string' ? findCommand(word) : undefined;
  return {
    spec,
    args: {
      host: String(raw.host),
      port,
      dir: String(raw.dir),
      json: raw.json === true,
      timeout,
      user: typeof raw.user === 'string' && raw.user !== '' ? raw.user : undefined,
      tls: raw.tls === true || ca !== undefined,
      ca,
      raw,
    },
  };
}

/** A yargs command built from the shell command's declaration. */
function addCommand(parser: Argv, spec: CommandSpec): Argv {
  const words = spec.args.map((a) => {
    const name = a.name.toLowerCase() + (a.variadic ? '..' : '');
    return a.required ? `<${name}>` : `[${name}]`;
  });
  const aliases = spec.aliases.filter((a) => /^[a-z]/.test(a));
  return parser.command([[spec.name, ...words].join(' '), ...aliases], spec.summary, (y) => {
    let built = y;
    for (const a of spec.args) built = built.positional(a.name.toLowerCase(), { type: 'string' });
    for (const [letter, flag] of Object.entries(spec.flags)) {
      built = built.option(letter, { alias: flag.long, type: 'boolean', describe: flag.help });
    }
    return built;
  });
}

/**
 * Command words are case-insensitive, as in the shell (`ftp-client LS`):
 * the first word that is not an option is replaced by the command's name.
 */
function normaliseCommandWord(argv: readonly string[]): string[] {
  const out = argv.map((word) => (word === '-' ? DASH : word));
  for (let i = 0; i < out.length; i += 1) {
    const word = out[i];
    if (word === '--') break;
    if (word.startsWith('-')) {
      if (VALUE_OPTIONS.has(word)) i += 1;
      continue;
    }
    const spec = findCommand(word);
    if (spec?.oneShot) out[i] = spec.name;
    break;
  }
  return out;
}
