import type { Argv } from 'yargs';
import { ConfigError } from '../config/config-file';
import { LOG_FORMATS, type ServerLogFormat } from '../logging/winston-log';
import { DEFAULT_ADMIN_HOST } from './admin-server';

/** The operations settings after parsing and validation. */
export interface OperationsSettings {
  /** Port of the HTTP admin endpoint; `undefined` keeps it off (the default). */
  adminPort: number | undefined;
  /** Address the admin endpoint binds to (default loopback). */
  adminHost: string;
  logFormat: ServerLogFormat;
  /** Write `<log-dir>/transfers.log` (default on). */
  transferLog: boolean;
}

/**
 * Declare the config-file, admin-endpoint and log-format options on a
 * yargs instance (beside `declareServerOptions`). Each also reads
 * `FTP_SERVER_<NAME>` once the parser has `.env('FTP_SERVER')`.
 */
export function declareOperationsOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('config', {
      type: 'string',
      describe: 'JSON config file of option values (default: ./ftp-server.json when present)',
    })
    .option('print-config', {
      type: 'boolean',
      default: false,
      describe: 'Print the effective configuration and where each value comes from, then exit',
    })
    .option('admin-port', {
      type: 'number',
      describe: 'Port of the HTTP admin endpoint (/healthz, /metrics, /status); off unless set',
    })
    .option('admin-host', {
      type: 'string',
      default: DEFAULT_ADMIN_HOST,
      describe: 'Address of the admin endpoint (keep it private: it is not authenticated)',
    })
    .option('log-format', {
      type: 'string',
      default: 'classic',
      choices: LOG_FORMATS,
      describe: 'classic text lines, or json (one object per line, for log shippers)',
    })
    .option('transfer-log', {
      type: 'boolean',
      default: true,
      describe: 'Write one line per transfer to <log-dir>/transfers.log (--no-transfer-log to stop)',
    });
}

type ParsedOperations = {
  'admin-port'?: number;
  'admin-host': string;
  'log-format': string;
  'transfer-log': boolean;
};

/** Check the values; a bad one throws a {@link ConfigError} naming the option. */
export function toOperationsSettings(args: ParsedOperations): OperationsSettings {
  const port = args['admin-port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new ConfigError(`--admin-port must be a whole number from 0 to 65535 (got ${String(port)})`);
  }
  if (!args['admin-host']) throw new ConfigError('--admin-host must not be empty');
  if (!(LOG_FORMATS as readonly string[]).includes(args['log-format'])) {
    throw new ConfigError(`--log-format must be one of ${LOG_FORMATS.join(', ')} (got ${String(args['log-format'])})`);
  }
  if (typeof args['transfer-log'] !== 'boolean') {
    throw new ConfigError(`--transfer-log must be true or false (got ${String(args['transfer-log'])})`);
  }
  return {
    adminPort: port,
    adminHost: args['admin-host'],
    logFormat: args['log-format'] as ServerLogFormat,
    transferLog: args['transfer-log'],
  };
}
