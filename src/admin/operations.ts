import path from 'node:path';
import type { Log } from '../logging/log';
import { TRANSFER_LOG_FILE, TransferLog } from '../logging/transfer-log';
import type { ServerObserver } from '../core/observer';
import { AdminServer, type AdminTarget, type SharedLimitsHealth } from './admin-server';
import { MetricsObserver } from './metrics';
import { combineObservers } from './observers';
import type { OperationsSettings } from './options';

/** What {@link prepareOperations} needs beside the settings. */
export interface OperationsContext {
  /** The server's log folder: the transfer log goes there. */
  logDir: string;
  /** The server's root logger. */
  log: Log;
}

/**
 * Metrics, the transfer log and the admin endpoint, wired for the CLI:
 *
 *     const ops = prepareOperations(opsSettings, { logDir, log });
 *     const server = await FileServer.start({ ..., log: ops.log, observer: ops.observer });
 *     await ops.attach(server);          // admin endpoint up (when --admin-port)
 *     ...                                // on SIGTERM:
 *     await server.close();              // /healthz answers 503 throughout the drain
 *     await ops.close();
 */
export interface Operations {
  /** Pass to `FileServer.start({ observer })`. */
  readonly observer: ServerObserver;
  /** `undefined` when the admin endpoint is off (metrics are only kept for it). */
  readonly metrics: MetricsObserver | undefined;
  readonly transferLog: TransferLog | undefined;
  /** The running admin endpoint, once {@link attach} has started it. */
  readonly admin: AdminServer | undefined;
  /**
   * Start the admin endpoint for `server` (a no-op when it is off) and log
   * its address; with `sharedLimits` (a cluster's Redis), its health shows
   * in /healthz, /status and /metrics.
   */
  attach(server: AdminTarget, sharedLimits?: SharedLimitsHealth): Promise<void>;
  /** Stop the admin endpoint and flush the transfer log. Call after the server has closed. */
  close(): Promise<void>;
}

/**
 * Build the operations pieces the settings ask for. Synchronous, and done
 * before the server starts, because the server takes its observer and log
 * at start. Throws if the transfer log's folder cannot be created.
 */
export function prepareOperations(settings: OperationsSettings, context: OperationsContext): Operations {
  const { log } = context;
  const metrics = settings.adminPort !== undefined ? new MetricsObserver() : undefined;
  const transferLog = settings.transferLog
    ? TransferLog.open({
        file: path.join(context.logDir, TRANSFER_LOG_FILE),
        onError: (err) => log.error(`Writing the transfer log failed: ${err.message}`),
      })
    : undefined;
  const observer = combineObservers([metrics, transferLog], (err) =>
    log.error('A metrics or transfer-log hook failed; it is skipped from now on', err),
  );
  let admin: AdminServer | undefined;
  let closing: Promise<void> | undefined;
  return {
    observer,
    metrics,
    transferLog,
    get admin() {
      return admin;
    },
    async attach(server, sharedLimits) {
      if (!metrics || settings.adminPort === undefined || admin) return;
      if (sharedLimits) metrics.watchSharedLimits(sharedLimits);
      admin = await AdminServer.start({
        target: server,
        metrics,
        host: settings.adminHost,
        port: settings.adminPort,
        log,
        ...(sharedLimits ? { sharedLimits } : {}),
      });
      log.info(`Admin endpoint on ${admin.url} (/healthz, /metrics, /status)`);
    },
    close() {
      closing ??= Promise.all([admin?.close(), transferLog?.close()]).then(() => undefined);
      return closing;
    },
  };
}
