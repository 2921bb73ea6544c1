import http from 'node:http';
import yargs, { type Argv } from 'yargs';
import { DEFAULT_ADMIN_HOST, type StatusDocument } from '../admin/admin-server';
import { declareOperationsOptions } from '../admin/options';
import { ConfigError, envVariable, loadConfigFile, locateConfigFile, schemaFromYargs } from '../config/config-file';
import { declareServerOptions } from './server-options';

/** Exit codes of `ftp-server status`. */
export const STATUS_EXIT = Object.freeze({ accepting: 0, unreachable: 1, usage: 2, draining: 3 });

/** Where `status` writes; the server CLI's io fits. */
export interface StatusIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** What `status` reads besides its arguments, injected for tests. */
export interface StatusContext {
  /** The whole command line (searched for `--config`). */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Parsed arguments of `ftp-server status`. */
export interface StatusArgs {
  'admin-host': string;
  'admin-port'?: number;
  json: boolean;
  timeout: number;
}

/**
 * The admin address from the config file and `FTP_SERVER_ADMIN_*`, as a
 * yargs config object: yargs ranks it below the command line. (Not
 * `.env()`: that reads `process.env`, not the injected environment.)
 */
function adminDefaults(context: StatusContext): Record<string, unknown> {
  // The file is the server's: check it against the server's own options.
  const fileSchema = schemaFromYargs(declareOperationsOptions(declareServerOptions(yargs([]))));
  const located = locateConfigFile(context.argv, context.env, context.cwd);
  const fromFile = located ? loadConfigFile(located.file, fileSchema) : {};
  const picked: Record<string, unknown> = {};
  for (const key of ['admin-host', 'admin-port']) if (key in fromFile) picked[key] = fromFile[key];
  const envHost = context.env[envVariable('admin-host')];
  const envPort = context.env[envVariable('admin-port')];
  if (envHost !== undefined) picked['admin-host'] = envHost;
  if (envPort !== undefined) picked['admin-port'] = envPort.trim() === '' ? NaN : Number(envPort);
  return picked;
}

/**
 * Declare `status`'s options on a yargs (sub)command. Reads the config file
 * (throws a `ConfigError` for a bad one), so that the admin address follows
 * the server's precedence: command line > `FTP_SERVER_ADMIN_*` > file.
 */
export function declareStatusCommand<T>(y: Argv<T>, context: StatusContext) {
  return y
    .option('admin-host', { type: 'string', default: DEFAULT_ADMIN_HOST, describe: 'Admin endpoint address' })
    .option('admin-port', { type: 'number', describe: "Admin endpoint port (the server's --admin-port)" })
    .option('config', { type: 'string', describe: 'Config file to read admin-host and admin-port from' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the raw /status document' })
    .option('timeout', { type: 'number', default: 5, describe: 'Give up after this many seconds' })
    .config(adminDefaults(context));
}

/**
 * `ftp-server status [--admin-host H] [--admin-port P] [--json]`: read the
 * admin endpoint's `/status` and print sessions, transfers in flight and
 * totals. Resolves with the exit code ({@link STATUS_EXIT}).
 */
export async function runStatusCommand(args: StatusArgs, io: StatusIo): Promise<number> {
  let target: { host: string; port: number; json: boolean; timeoutMs: number };
  try {
    target = checkStatusArgs(args);
  } catch (err) {
    io.stderr.write(`ftp-server status: ${messageOf(err)}\n`);
    return STATUS_EXIT.usage;
  }
  const url = `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/status`;
  let status: StatusDocument;
  try {
    status = JSON.parse(await fetchText(url, target.timeoutMs)) as StatusDocument;
  } catch (err) {
    io.stderr.write(`ftp-server status: cannot read ${url}: ${messageOf(err)}\n`);
    io.stderr.write('Is the server running with --admin-port, and are host and port right?\n');
    return STATUS_EXIT.unreachable;
  }
  io.stdout.write(target.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, url.replace(/\/status$/, '')));
  return status.state === 'draining' ? STATUS_EXIT.draining : STATUS_EXIT.accepting;
}

/** Standalone `status` (its arguments without the word `status`), for tests and scripts. */
export async function statusMain(
  argv: string[],
  io: StatusIo = process,
  context: Omit<StatusContext, 'argv'> = { env: process.env, cwd: process.cwd() },
): Promise<number> {
  let args: StatusArgs | undefined;
  try {
    let helped = false;
    const parsed = await declareStatusCommand(yargs(argv), { ...context, argv })
      .scriptName('ftp-server status')
      .usage("$0 [options]\n\nPrint sessions, transfers in flight and totals from a running server's admin endpoint.")
      .strict()
      .exitProcess(false)
      .fail((message, err) => {
        throw new ConfigError(err?.message ?? message);
      })
      .help()
      .version(false)
      .parse(argv, {}, (_err, _argv, output) => {
        if (output) {
          helped = true;
          io.stdout.write(`${output}\n`);
        }
      });
    if (helped) return STATUS_EXIT.accepting;
    args = parsed;
  } catch (err) {
    io.stderr.write(`ftp-server status: ${messageOf(err)}\n`);
    return STATUS_EXIT.usage;
  }
  return runStatusCommand(args, io);
}

function checkStatusArgs(args: StatusArgs) {
  const port = args['admin-port'];
  if (port === undefined) {
    throw new ConfigError(
      'no admin port: pass --admin-port, set FTP_SERVER_ADMIN_PORT, or "admin-port" in the config file ' +
        '(the server must run with it too)',
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigError(`--admin-port must be a whole number from 1 to 65535 (got ${String(port)})`);
  }
  if (!(args.timeout > 0)) throw new ConfigError(`--timeout must be a positive number of seconds (got ${String(args.timeout)})`);
  return { host: args['admin-host'], port, json: args.json, timeoutMs: Math.round(args.timeout * 1000) };
}

/** An error's message; not `instanceof Error`, which fails for errors made in another realm. */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : String(err);
}

function fetchText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.trim().slice(0, 200)}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

/** `1.2 GiB`, exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

/** The human-readable report. */
export function formatStatus(status: StatusDocument, base: string): string {
  const t = status.transfers;
  const refused = Object.entries(status.connections.refused)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`);
  const rows: Array<[string, string]> = [
    ['sessions', `${status.sessions.active} active`],
    ['transfers in flight', String(t.in_flight)],
    ['downloads', `${t.downloads.ok} ok, ${t.downloads.failed} failed`],
    ['uploads', `${t.uploads.ok} ok, ${t.uploads.failed} failed`],
    ['bytes sent', `${formatBytes(t.bytes_sent)} (${t.bytes_sent})`],
    ['bytes received', `${formatBytes(t.bytes_received)} (${t.bytes_received})`],
    ['connections', `${status.connections.accepted} accepted; refused: ${refused.length > 0 ? refused.join(', ') : 'none'}`],
    ['commands', String(status.commands)],
  ];
  const shared = status.shared_limits;
  if (shared) rows.push(['shared limits', `${shared.state === 'ok' ? 'Redis ok' : 'degraded: Redis unreachable, limits are this node\'s own'}; ${shared.failures} Redis failures since start`]);
  const head = `${status.server} at ${base}: ${status.state}, up ${formatDuration(status.uptime_seconds)} (since ${status.started_at})`;
  return `${[head, ...rows.map(([k, v]) => `  ${k.padEnd(20)}${v}`)].join('\n')}\n`;
}
