import path from 'node:path';
import yargs from 'yargs';
import { createServerLog } from '../logging/winston-log';
import { FileServer } from '../server/file-server';
import { declareServerOptions, toServerSettings, UsageError } from './server-options';

/** Exit code for bad command-line values. */
const EXIT_USAGE = 2;

/**
 * `ftp-server`: parse options, start logging and the server, and stop
 * gracefully on SIGINT/SIGTERM. The only place that reads argv and env,
 * builds the winston logger and installs signal handlers.
 * Resolves with the process exit code once the server has stopped.
 */
export async function main(argv: string[]): Promise<number> {
  let settings;
  try {
    const parser = declareServerOptions(yargs(argv))
      .scriptName('ftp-server')
      .usage('$0 [options]\n\nServe a folder over the ftp-server native protocol (default 0.0.0.0:5002).')
      .strict()
      .exitProcess(false)
      .fail((message, err) => {
        throw new UsageError(err?.message ?? message);
      })
      .help()
      .version();
    const args = await parser.parse();
    if (args.help || args.version) return 0;
    settings = toServerSettings(args);
  } catch (err) {
    process.stderr.write(`ftp-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write("Run 'ftp-server --help' for the options.\n");
    return EXIT_USAGE;
  }

  const logging = createServerLog({ logDir: settings.logDir, level: settings.logLevel, console: true });
  const log = logging.log;
  let server: FileServer;
  try {
    server = await FileServer.start({
      root: settings.root,
      host: settings.host,
      port: settings.port,
      log,
      limits: settings.limits,
    });
  } catch (err) {
    log.error(`Could not start: ${err instanceof Error ? err.message : String(err)}`);
    await logging.close();
    return 1;
  }
  const { address, port } = server.address;
  log.info(`FTP Server listening on ${address}:${port}`);
  log.info(`Serving folder ${path.resolve(settings.root)}; log file ${logging.logFile ?? '(none)'}`);

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals === 1) {
        log.info(`Received ${signal}; finishing transfers for up to ${settings.limits.shutdownGraceMs / 1000} s (send again to stop now)`);
        server.close().then(resolve, resolve);
      } else {
        log.warn(`Received ${signal} again; closing all connections now`);
        server.terminate();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // Let winston write its last lines before the process ends on its own.
  await logging.close();
  return 0;
}
