import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { DEFAULT_LIMITS } from '../config/defaults';
import { silentLog } from '../logging/log';
import { FileServer } from '../server/file-server';
import { COVER_LIMIT_MS, runStress, STRESS_DEFAULTS, type StressReport } from './stress-run';
import { formatStressTable, STRESS_EXIT, stressExitCode } from './stress-report';
import { parseSize } from './sizes';

/**
 * `npm run stress -- --clients N --duration S [--host H --port P] [--spawn] [--json]`
 *
 * N concurrent sessions in this one process loop over a realistic mix of
 * commands against a server, verifying every byte; a live line per second on
 * stderr, a table (or JSON with `--json`) on stdout at the end.
 * Exit codes: see {@link STRESS_EXIT}.
 */

interface Settings {
  host: string;
  port: number;
  clients: number;
  duration: number;
  spawn: boolean;
  json: boolean;
  quiet: boolean;
  allowErrors: boolean;
  cover: boolean;
  smallMin: number;
  smallMax: number;
  largeSize: number;
  timeout: number;
}

async function parseArgs(argv: string[]): Promise<Settings | number> {
  const args = await yargs(argv)
    .scriptName('stress')
    .usage('$0 --clients N --duration S [--host H --port P | --spawn] [--json]\n\n' +
      'Many concurrent sessions in one process, each looping over LS, GET, PUT, STAT and the folder commands,\n' +
      'every transfer checked byte for byte against what was put there.')
    .option('clients', { alias: 'c', type: 'number', default: 10, describe: 'Concurrent sessions' })
    .option('duration', { alias: 'd', type: 'number', default: 30, describe: 'Seconds to run' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Server address' })
    .option('port', { alias: 'p', type: 'number', default: 5002, describe: 'Server port' })
    .option('spawn', { type: 'boolean', default: false, describe: 'Start a server in this process on 127.0.0.1, a free port and a temp folder' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON on stdout (the table goes to stderr)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No live line' })
    .option('allow-errors', { type: 'boolean', default: false, describe: 'Exit 0 despite connection/command failures (never despite integrity failures)' })
    .option('cover', { type: 'boolean', default: false, describe: `Go on past --duration until every command of the mix has run once (at most ${COVER_LIMIT_MS / 1000} s more)` })
    .option('small-min', { type: 'string', default: '4KiB', describe: 'Smallest small file' })
    .option('small-max', { type: 'string', default: '64KiB', describe: 'Largest small file' })
    .option('large-size', { type: 'string', default: '4MiB', describe: 'Size of the large files' })
    .option('timeout', { type: 'number', default: STRESS_DEFAULTS.timeoutMs / 1000, describe: 'Client timeout, seconds' })
    .strict()
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new Error(message);
    })
    .help()
    .parse();
  if (args.help) return STRESS_EXIT.ok;
  const settings: Settings = {
    host: args.host,
    port: args.port,
    clients: args.clients,
    duration: args.duration,
    spawn: args.spawn,
    json: args.json,
    quiet: args.quiet,
    allowErrors: args['allow-errors'],
    cover: args.cover,
    smallMin: parseSize(args['small-min']),
    smallMax: parseSize(args['small-max']),
    largeSize: parseSize(args['large-size']),
    timeout: args.timeout,
  };
  const whole = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  if (!whole(settings.clients, 1, 100_000)) throw new Error('--clients must be a whole number from 1 to 100000');
  if (!(settings.duration > 0 && settings.duration <= 86_400)) throw new Error('--duration must be from 0 to 86400 seconds');
  if (!whole(settings.port, 0, 65_535) || (!settings.spawn && settings.port === 0)) throw new Error('--port must be from 1 to 65535');
  if (!(settings.smallMin >= 0 && settings.smallMin <= settings.smallMax)) throw new Error('--small-min must not exceed --small-max');
  if (!(settings.largeSize > settings.smallMax)) throw new Error('--large-size must exceed --small-max');
  if (!(settings.timeout > 0)) throw new Error('--timeout must be positive');
  return settings;
}

/** A server in this process for `--spawn`, with limits that fit the run. */
async function spawnServer(clients: number): Promise<{ server: FileServer; stop(): Promise<void> }> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-stress-'));
  // Room for every session plus the seeding one and reconnects still closing.
  const room = clients * 2 + 16;
  const server = await FileServer.start({
    root: base,
    host: '127.0.0.1',
    port: 0,
    log: silentLog,
    limits: {
      rateLimit: 0,
      maxConnections: Math.max(DEFAULT_LIMITS.maxConnections, room),
      maxConnectionsPerIp: Math.max(DEFAULT_LIMITS.maxConnectionsPerIp, room),
      shutdownGraceMs: 5_000,
    },
  });
  return {
    server,
    async stop() {
      await server.close(2_000);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * Run the tool with `argv` (without `node script`). Resolves with the exit
 * code; writes to stdout/stderr but never exits the process itself.
 */
export async function main(argv: string[]): Promise<number> {
  let settings: Settings;
  try {
    const parsed = await parseArgs(argv);
    if (typeof parsed === 'number') return parsed;
    settings = parsed;
  } catch (err) {
    process.stderr.write(`stress: ${err instanceof Error ? err.message : String(err)}\n`);
    return STRESS_EXIT.usage;
  }

  const spawned = settings.spawn ? await spawnServer(settings.clients) : null;
  const port = spawned ? spawned.server.port : settings.port;
  const host = spawned ? '127.0.0.1' : settings.host;
  const stopper = new AbortController();
  const onSignal = () => {
    if (stopper.signal.aborted) process.exit(130);
    process.stderr.write('stress: stopping (Ctrl-C again to quit at once)\n');
    stopper.abort();
  };
  process.on('SIGINT', onSignal);
  let report: StressReport;
  try {
    process.stderr.write(`stress: ${settings.clients} clients for ${settings.duration} s against ${host}:${port}${spawned ? ' (spawned)' : ''}\n`);
    report = await runStress({
      host,
      port,
      clients: settings.clients,
      durationSec: settings.duration,
      sizes: { smallMin: settings.smallMin, smallMax: settings.smallMax, large: settings.largeSize },
      seedSmall: STRESS_DEFAULTS.seedSmall,
      seedLarge: STRESS_DEFAULTS.seedLarge,
      timeoutMs: settings.timeout * 1000,
      liveIntervalMs: settings.quiet ? 0 : STRESS_DEFAULTS.liveIntervalMs,
      onLive: (line) => process.stderr.write(`${line}\n`),
      signal: stopper.signal,
      cover: settings.cover,
    });
  } catch (err) {
    process.stderr.write(`stress: could not start the run: ${err instanceof Error ? err.message : String(err)}\n`);
    return STRESS_EXIT.errors;
  } finally {
    process.off('SIGINT', onSignal);
    await spawned?.stop();
  }

  const table = formatStressTable(report);
  if (settings.json) {
    process.stderr.write(`${table}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${table}\n`);
  }
  const code = stressExitCode(report, settings.allowErrors);
  if (code === STRESS_EXIT.integrity) process.stderr.write('stress: INTEGRITY FAILURE: the server returned bytes that were not put there\n');
  else if (code !== STRESS_EXIT.ok) process.stderr.write('stress: failures occurred (use --allow-errors to accept connection/command failures)\n');
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`stress: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = STRESS_EXIT.errors;
    },
  );
}
