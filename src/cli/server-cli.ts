import path from 'node:path';
import yargs from 'yargs';
import { prepareOperations, type Operations } from '../admin/operations';
import { declareOperationsOptions, toOperationsSettings, type OperationsSettings } from '../admin/options';
import { applyConfigFile, formatEffectiveConfig, type LoadedConfig } from '../config/config-file';
import { createServerLog } from '../logging/winston-log';
import { allListeners, type Listener } from '../core/listener';
import { ServerCore } from '../core/server-core';
import type { ProxySettings } from '../core/intake';
import { FileServer } from '../server/file-server';
import { FtpServer } from '../ftp/ftp-server';
import { prepareSecurity } from '../auth/server-security';
import type { PromptInput } from '../client/ui/hidden-prompt';
import type { ResilientLimits } from '../cluster/resilient-limits';
import { redactUrl } from '../cluster/redis-url';
import { systemClock } from '../util/clock';
import { declareCertCommand, runCertCommand } from './cert-cli';
import { declareClusterOptions, DEFAULT_REDIS_START_WAIT_MS, toClusterSettings, type ClusterSettings } from './cluster-options';
import type { TlsCredentials } from '../auth/tls-files';
import { declareFtpOptions, toFtpSettings, type FtpSettings } from './ftp-options';
import { declareServerOptions, toServerSettings, UsageError, type ServerSettings } from './server-options';
import { declareStorageOptions, describeStorage, openS3Storage, toStorageSettings, type StorageSettings } from './storage-options';
import { declareStatusCommand, runStatusCommand } from './status-cli';
import { declareUserCommand, runUserCommand } from './user-cli';

/** Exit code for bad command-line values. */
const EXIT_USAGE = 2;

/** Standard streams of the `user` and `cert` subcommands, injectable for tests. */
export interface ServerCliIo {
  stdin: PromptInput;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * `ftp-server`: parse options, start logging and the server, and stop
 * gracefully on SIGINT/SIGTERM. The only place that reads argv and env,
 * builds the winston logger and installs signal handlers.
 * `ftp-server user …` and `ftp-server cert …` manage accounts and certificates.
 * Resolves with the process exit code once the server has stopped.
 */
export async function main(argv: string[], io: ServerCliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let settings: ServerSettings | undefined;
  let operations: OperationsSettings | undefined;
  let storage: StorageSettings | undefined;
  let cluster: ClusterSettings | undefined;
  let ftp: FtpSettings | undefined;
  let config: LoadedConfig | undefined;
  let subcommand: (() => Promise<number>) | undefined;
  try {
    const parser = yargs(argv)
      .scriptName('ftp-server')
      .command('$0', 'Serve a folder over the ftp-server native protocol (default 0.0.0.0:5002)', (y) => {
        const declared = declareFtpOptions(declareClusterOptions(declareStorageOptions(declareOperationsOptions(declareServerOptions(y)))));
        // The file's values go in as yargs defaults-with-precedence: below env and argv.
        config = applyConfigFile(declared, argv, process.env, process.cwd());
        return declared;
      }, (args) => {
        if (args['print-config']) {
          subcommand = async () => printConfig(args, config!, io);
          return;
        }
        settings = toServerSettings(args);
        operations = toOperationsSettings(args);
        storage = toStorageSettings(args);
        cluster = toClusterSettings(args);
        ftp = toFtpSettings(args);
      })
      .command('status', 'Print sessions, transfers in flight and totals from the admin endpoint', (y) =>
        declareStatusCommand(y, { argv, env: process.env, cwd: process.cwd() }), (args) => {
        subcommand = () => runStatusCommand(args, io);
      })
      .command('user <action> [name]', 'Manage accounts: add, passwd, del, list, set', (y) => declareUserCommand(y), (args) => {
        subcommand = () => runUserCommand(args, io);
      })
      .command('cert', 'Write a self-signed cert.pem and key.pem for --tls-cert/--tls-key', (y) => declareCertCommand(y), (args) => {
        subcommand = () => runCertCommand(args, io);
      })
      .strict()
      .exitProcess(false)
      .fail((message, err) => {
        throw new UsageError(err?.message ?? message);
      })
      .help()
      .version();
    await parser.parse();
  } catch (err) {
    io.stderr.write(`ftp-server: ${err instanceof Error ? err.message : String(err)}\n`);
    io.stderr.write("Run 'ftp-server --help' for the options.\n");
    return EXIT_USAGE;
  }
  if (subcommand) return subcommand();
  // --help and --version print and end here.
  if (!settings || !operations || !storage || !cluster || !ftp) return 0;
  return serve(settings, operations, storage, cluster, ftp);
}

/** `--print-config`: the table, then exit 2 if the values would not start a server. */
function printConfig(args: Record<string, unknown>, config: LoadedConfig, io: ServerCliIo): number {
  io.stdout.write(formatEffectiveConfig(args, config));
  try {
    toServerSettings(args as never);
    toOperationsSettings(args as never);
    toStorageSettings(args);
    toClusterSettings(args);
    toFtpSettings(args);
    return 0;
  } catch (err) {
    io.stderr.write(`ftp-server: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
}

/**
 * The standard FTP port (`--ftp-port`) and the implicit FTPS port
 * (`--ftps-port`), on the native port's core, after it: one door, one set
 * of accounts and bans for all. Each logs `FTP listening on HOST:PORT`.
 * With `--proxy-protocol` both read the balancer's header first, on the
 * control port and on the passive data ports.
 */
async function startFtpListeners(
  core: ServerCore,
  settings: ServerSettings,
  ftp: FtpSettings,
  tls: TlsCredentials | undefined,
  proxy: ProxySettings | undefined,
): Promise<Listener[]> {
  const started: Listener[] = [];
  const common = {
    core,
    host: ftp.host ?? settings.host,
    ...(tls ? { tls } : {}),
    ...(ftp.pasvAddress !== undefined ? { pasvAddress: ftp.pasvAddress } : {}),
    ...(ftp.pasvPorts ? { pasvPorts: ftp.pasvPorts } : {}),
    activeAllowed: ftp.activeAllowed,
    allowPlain: ftp.allowPlain,
    ...(proxy ? { proxy } : {}),
  };
  try {
    for (const [port, implicitTls, name] of [[ftp.port, false, 'FTP'], [ftp.implicitPort, true, 'FTPS']] as const) {
      if (port === undefined) continue;
      const server = await FtpServer.start({ ...common, port, implicitTls });
      started.push(server);
      core.log.info(`${name} listening on ${server.address.address}:${server.port}`);
    }
  } catch (err) {
    await Promise.all(started.map((l) => l.close(0)));
    throw err;
  }
  return started;
}

/** Run the server until SIGINT/SIGTERM; returns the exit code. */
async function serve(
  settings: ServerSettings,
  opsSettings: OperationsSettings,
  storageSettings: StorageSettings,
  cluster: ClusterSettings,
  ftpSettings: FtpSettings,
): Promise<number> {
  const logging = createServerLog({ logDir: settings.logDir, level: settings.logLevel, console: true, format: opsSettings.logFormat });
  const log = logging.log;
  let core: ServerCore | undefined;
  const listeners: Listener[] = [];
  let ops: Operations | undefined;
  let sharedLimits: ResilientLimits | undefined;
  try {
    ops = prepareOperations(opsSettings, { logDir: settings.logDir, log });
    // S3: the bucket is checked (and swept) before anything listens; the core,
    // the accounts' homes and every listener then share this one storage.
    const storage = storageSettings.kind === 's3' ? await openS3Storage(storageSettings, log) : undefined;
    if (cluster.redis) {
      const { url, keyPrefix, nodeId } = cluster.redis;
      log.info(`Node ${nodeId}: per-IP limits, failed logins and bans shared in Redis at ${redactUrl(url)} under '${keyPrefix}'`);
      // Loaded only here: a single server never pays for the Redis client.
      const { ResilientLimits: Limits } = await import('../cluster/resilient-limits');
      sharedLimits = Limits.connect({ url, keyPrefix, nodeId }, { clock: systemClock, log });
      // A short wait so the first clients are counted cluster-wide; past it
      // the node serves on its own limits (logged) and joins when Redis answers.
      await sharedLimits.whenReady(DEFAULT_REDIS_START_WAIT_MS);
    }
    const security = await prepareSecurity(
      {
        root: settings.root,
        ...(storage ? { storage } : {}),
        host: settings.host,
        ...(settings.usersFile !== undefined ? { usersFile: settings.usersFile } : {}),
        ...(settings.anonymous ? { anonymous: settings.anonymous } : {}),
        loginPolicy: settings.loginPolicy,
        ...(settings.tls ? { tls: settings.tls } : {}),
        ...(sharedLimits ? { sharedLimits } : {}),
      },
      log,
    );
    const { tls, ...shared } = security.options;
    // One core for every listener: one door, one set of accounts, one transfer log.
    core = await ServerCore.create({
      root: settings.root,
      ...(storage ? { storage } : {}),
      log,
      observer: ops.observer,
      limits: settings.limits,
      ...shared,
      ...(sharedLimits ? { sharedLimits } : {}),
    });
    const native = await FileServer.start({ core, host: settings.host, port: settings.port, tls, ...(cluster.proxy ? { proxy: cluster.proxy } : {}) });
    listeners.push(native);
    const { address, port } = native.address;
    log.info(`FTP Server listening on ${address}:${port}`);
    listeners.push(...(await startFtpListeners(core, settings, ftpSettings, tls, cluster.proxy)));
    if (cluster.proxy) log.info(`PROXY protocol on: client addresses from the headers of ${cluster.proxy.trusted.entries.join(', ')}; other peers are refused`);
    await ops.attach(allListeners(listeners), sharedLimits);
  } catch (err) {
    log.error(`Could not start: ${err instanceof Error ? err.message : String(err)}`);
    await Promise.all(listeners.map((l) => l.close(0)));
    await core?.close();
    await sharedLimits?.close();
    await ops?.close();
    await logging.close();
    return 1;
  }
  const running = core;
  const served = storageSettings.kind === 's3' ? describeStorage(storageSettings) : `folder ${path.resolve(settings.root)}`;
  log.info(`Serving ${served}; log file ${logging.logFile ?? '(none)'}`);

  const { limits } = settings;
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals === 1) {
        log.info(`Received ${signal}; finishing transfers for up to ${limits.shutdownGraceMs / 1000} s (send again to stop now)`);
        Promise.all(listeners.map((l) => l.close())).then(() => resolve(), () => resolve());
      } else {
        log.warn(`Received ${signal} again; closing all connections now`);
        for (const listener of listeners) listener.terminate();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await running.close();
  // After the listeners: the node's last connections gave their slots back.
  await sharedLimits?.close();
  // The admin endpoint stayed up through the drain (/healthz said 503); now it goes.
  await ops.close();
  // Let winston write its last lines before the process ends on its own.
  await logging.close();
  return 0;
}
