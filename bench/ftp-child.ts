/**
 * The FTP port for the bench, in a process of its own (so its CPU and
 * memory are its own, as vsftpd's are): a ServerCore over `--root` and an
 * FtpServer on 127.0.0.1, no accounts (any login works), with the
 * per-address caps lifted because every bench client comes from 127.0.0.1.
 * Prints `FTP_PORT <port>` once listening; SIGTERM closes it. Runs the
 * compiled dist/ when present, as the native bench's server does.
 *
 * Usage: node -r ts-node/register/transpile-only bench/ftp-child.ts ROOT MAX_CONNECTIONS
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as CoreModule from '../src/core/server-core';
import type * as FtpModule from '../src/ftp/ftp-server';
import type { Log } from '../src/logging/log';

/** The compiled module when built (what users run, and quick to load), else the source through ts-node. */
function load<T>(relative: string): T {
  const built = path.join(__dirname, '..', 'dist', `${relative}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(fs.existsSync(built) ? built : path.join(__dirname, '..', 'src', relative)) as T;
}

const { ServerCore } = load<typeof CoreModule>('core/server-core');
const { FtpServer } = load<typeof FtpModule>('ftp/ftp-server');

/** Warnings and errors only, on stderr: the bench keeps the tail for its error messages. */
const quietLog: Log = {
  info() {},
  warn: (message) => process.stderr.write(`WARNING ${message}\n`),
  error: (message, err) => process.stderr.write(`ERROR ${message}${err instanceof Error ? ` ${err.stack}` : ''}\n`),
  child: () => quietLog,
};

async function main(): Promise<void> {
  const [root, max] = process.argv.slice(2);
  const maxConnections = Number(max);
  if (!root || !Number.isInteger(maxConnections) || maxConnections < 1) throw new Error('usage: ftp-child.ts ROOT MAX_CONNECTIONS');
  const core = await ServerCore.create({
    root,
    log: quietLog,
    limits: {
      maxConnections,
      maxConnectionsPerIp: maxConnections,
      rateLimit: 0,
      // Transfers of 1 GiB on a loaded machine must not be cut, nor waiting clients.
      idleTimeoutMs: 3_600_000,
      shutdownGraceMs: 2_000,
    },
  });
  const ftp = await FtpServer.start({ core, host: '127.0.0.1', port: 0 });
  process.stdout.write(`FTP_PORT ${ftp.port}\n`);
  process.once('SIGTERM', () => {
    void ftp
      .close(2_000)
      .then(() => core.close())
      .finally(() => {
        process.exitCode = 0;
      });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`ftp-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
