import type { Argv } from 'yargs';
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_LOG_DIR, DEFAULT_PORT, DEFAULT_ROOT, type ServerLimits } from '../config/defaults';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from '../auth/login-guard';
import { normaliseHome, parsePermissions } from '../auth/users-file';
import type { Permission } from '../core/access';

/** The server's settings after parsing and validation. */
export interface ServerSettings {
  host: string;
  port: number;
  root: string;
  logDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  limits: ServerLimits;
  /** The users file as given with `--users`; absent: `./users.json` if it exists, else no accounts. */
  usersFile?: string;
  /** Anonymous access, when `--anonymous` is on. */
  anonymous?: { permissions: Permission[]; home: string };
  /** Failed-login delays and bans. */
  loginPolicy: Partial<LoginPolicy>;
  /** Certificate and key files: the port speaks TLS only. */
  tls?: { certFile: string; keyFile: string; passphrase?: string };
}

/** A bad option value: the CLI prints it and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Declare every server option on a yargs instance. Option names are fixed:
 * scripts and the docs rely on them. Each also reads `FTP_SERVER_<NAME>`.
 */
export function declareServerOptions<T>(yargs: Argv<T>) {
  const seconds = (ms: number) => ms / 1000;
  return yargs
    .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'Address to listen on' })
    .option('port', { type: 'number', default: DEFAULT_PORT, describe: 'TCP port (0 picks a free one)' })
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'Folder to serve (created if missing)' })
    .option('log-dir', { type: 'string', default: DEFAULT_LOG_DIR, describe: 'Folder for the rotating log files' })
    .option('log-level', { type: 'string', default: 'info', choices: LOG_LEVELS, describe: 'Lowest level logged' })
    .option('max-connections', { type: 'number', default: DEFAULT_LIMITS.maxConnections, describe: 'Connections at once, all clients (503 beyond)' })
    .option('max-connections-per-ip', { type: 'number', default: DEFAULT_LIMITS.maxConnectionsPerIp, describe: 'Connections at once from one IP (429 beyond)' })
    .option('rate-limit', { type: 'number', default: DEFAULT_LIMITS.rateLimit, describe: 'New connections per IP per window (0 = off)' })
    .option('rate-window', { type: 'number', default: seconds(DEFAULT_LIMITS.rateWindowMs), describe: 'Rate window, seconds' })
    .option('idle-timeout', { type: 'number', default: seconds(DEFAULT_LIMITS.idleTimeoutMs), describe: 'Close a connection idle this long, seconds' })
    .option('frame-timeout', { type: 'number', default: seconds(DEFAULT_LIMITS.frameTimeoutMs), describe: 'A frame must arrive whole within this, seconds' })
    .option('transfer-timeout', { type: 'number', default: seconds(DEFAULT_LIMITS.transferTimeoutMs), describe: 'Abort a payload stalled this long, seconds' })
    .option('max-upload-size', { type: 'number', default: DEFAULT_LIMITS.maxUploadSize, describe: 'Largest upload, bytes (413 beyond)' })
    .option('shutdown-grace', { type: 'number', default: seconds(DEFAULT_LIMITS.shutdownGraceMs), describe: 'On SIGINT/SIGTERM, wait this long for transfers, seconds' })
    .option('users', { type: 'string', describe: 'Users file (default ./users.json when it exists; without one, no accounts)' })
    .option('anonymous', { type: 'boolean', default: false, describe: 'Allow access without login (read-only unless --anonymous-perms)' })
    .option('anonymous-perms', { type: 'string', default: 'read', describe: 'What anonymous users may do: read, write, delete, mkdir, rename, all' })
    .option('anonymous-home', { type: 'string', default: '/', describe: 'Folder under the root anonymous users see as /' })
    .option('max-login-failures', { type: 'number', default: DEFAULT_LOGIN_POLICY.maxFailures, describe: 'Failed logins per IP within --ban-time that ban it (0 = no bans)' })
    .option('login-failure-delay', { type: 'number', default: seconds(DEFAULT_LOGIN_POLICY.failureDelayMs), describe: 'Answer a failed login after this, seconds, doubled per further failure up to 8 s (0 = no delay)' })
    .option('ban-time', { type: 'number', default: seconds(DEFAULT_LOGIN_POLICY.banMs), describe: 'Failure window and ban length, seconds (429 greeting while banned)' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain): the port then speaks TLS only' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-passphrase', { type: 'string', describe: 'Passphrase of an encrypted --tls-key (prefer env FTP_SERVER_TLS_PASSPHRASE)' })
    .env('FTP_SERVER');
}

type ParsedOptions = {
  host: string;
  port: number;
  root: string;
  'log-dir': string;
  'log-level': string;
  'max-connections': number;
  'max-connections-per-ip': number;
  'rate-limit': number;
  'rate-window': number;
  'idle-timeout': number;
  'frame-timeout': number;
  'transfer-timeout': number;
  'max-upload-size': number;
  'shutdown-grace': number;
  users?: string;
  anonymous?: boolean;
  'anonymous-perms'?: string;
  'anonymous-home'?: string;
  'max-login-failures'?: number;
  'login-failure-delay'?: number;
  'ban-time'?: number;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-passphrase'?: string;
};

/** Check every value and convert seconds to milliseconds. */
export function toServerSettings(args: ParsedOptions): ServerSettings {
  const integer = (name: keyof ParsedOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = args[name] as number;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got ${String(args[name])})`);
    }
    return value;
  };
  const secondsToMs = (name: keyof ParsedOptions) => {
    const value = args[name] as number;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 86_400 * 365) {
      throw new UsageError(`--${name} must be a positive number of seconds (got ${String(args[name])})`);
    }
    return Math.round(value * 1000);
  };
  if (!args.host) throw new UsageError('--host must not be empty');
  if (!args.root) throw new UsageError('--root must not be empty');
  if (!args['log-dir']) throw new UsageError('--log-dir must not be empty');
  if (!(LOG_LEVELS as readonly string[]).includes(args['log-level'])) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  if (args['tls-cert'] === undefined) {
    if (args['tls-key'] !== undefined) throw new UsageError('--tls-key needs --tls-cert');
  } else if (args['tls-key'] === undefined) {
    throw new UsageError('--tls-cert needs --tls-key');
  }
  if (args.users === '') throw new UsageError('--users must not be empty');
  let anonymous: ServerSettings['anonymous'];
  if (args.anonymous) {
    try {
      anonymous = { permissions: parsePermissions(args['anonymous-perms'] ?? 'read'), home: normaliseHome(args['anonymous-home'] ?? '/') };
    } catch (err) {
      throw new UsageError(`--anonymous: ${(err as Error).message}`);
    }
  }
  const banTime = args['ban-time'] ?? DEFAULT_LOGIN_POLICY.banMs / 1000;
  const failureDelay = args['login-failure-delay'] ?? DEFAULT_LOGIN_POLICY.failureDelayMs / 1000;
  if (typeof failureDelay !== 'number' || !Number.isFinite(failureDelay) || failureDelay < 0 || failureDelay > 60) {
    throw new UsageError(`--login-failure-delay must be a number of seconds from 0 to 60 (got ${String(args['login-failure-delay'])})`);
  }
  const loginPolicy: Partial<LoginPolicy> = {
    failureDelayMs: Math.round(failureDelay * 1000),
    maxFailures: args['max-login-failures'] ?? DEFAULT_LOGIN_POLICY.maxFailures,
    banMs: banTime * 1000,
    windowMs: banTime * 1000,
  };
  if (!Number.isInteger(loginPolicy.maxFailures) || loginPolicy.maxFailures! < 0) {
    throw new UsageError(`--max-login-failures must be a whole number from 0 (got ${String(args['max-login-failures'])})`);
  }
  if (!Number.isFinite(banTime) || banTime <= 0 || banTime > 86_400 * 365) {
    throw new UsageError(`--ban-time must be a positive number of seconds (got ${String(args['ban-time'])})`);
  }
  return {
    ...(args.users !== undefined ? { usersFile: args.users } : {}),
    ...(anonymous ? { anonymous } : {}),
    loginPolicy,
    ...(args['tls-cert'] !== undefined && args['tls-key'] !== undefined
      ? { tls: { certFile: args['tls-cert'], keyFile: args['tls-key'], ...(args['tls-passphrase'] ? { passphrase: args['tls-passphrase'] } : {}) } }
      : {}),
    host: args.host,
    port: integer('port', 0, 65_535),
    root: args.root,
    logDir: args['log-dir'],
    logLevel: args['log-level'] as ServerSettings['logLevel'],
    limits: {
      ...DEFAULT_LIMITS,
      maxConnections: integer('max-connections', 1),
      maxConnectionsPerIp: integer('max-connections-per-ip', 1),
      rateLimit: integer('rate-limit', 0),
      rateWindowMs: secondsToMs('rate-window'),
      idleTimeoutMs: secondsToMs('idle-timeout'),
      frameTimeoutMs: secondsToMs('frame-timeout'),
      transferTimeoutMs: secondsToMs('transfer-timeout'),
      maxUploadSize: integer('max-upload-size', 0),
      shutdownGraceMs: secondsToMs('shutdown-grace'),
    },
  };
}
