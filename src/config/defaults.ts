/**
 * Every limit and default of the server in one place, with the values of the
 * contract (shared/PROTOCOL.md §6). The CLI and tests override them; nothing
 * else hard-codes a number.
 */
export interface ServerLimits {
  /** Connections served at once, all IPs together (`503` beyond). */
  maxConnections: number;
  /** Connections open at once from one IP (`429` beyond). */
  maxConnectionsPerIp: number;
  /** New connections one IP may open per rate window; 0 turns the limiter off. */
  rateLimit: number;
  /** Length of the sliding rate window, in milliseconds. */
  rateWindowMs: number;
  /** Close a session that completes no command and moves no byte for this long. */
  idleTimeoutMs: number;
  /** A frame must arrive whole within this long of its first byte. */
  frameTimeoutMs: number;
  /** A payload that moves no byte for this long aborts the transfer. */
  transferTimeoutMs: number;
  /** Largest upload accepted, in bytes (`413` beyond). */
  maxUploadSize: number;
  /** Largest client-to-server frame body, in bytes (contract: 65,536). */
  maxClientFrameBytes: number;
  /** Largest server-to-client frame body, in bytes (contract: 16 MiB). */
  maxServerFrameBytes: number;
  /** How long a graceful shutdown waits for work in flight, in milliseconds. */
  shutdownGraceMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 1000,
  maxConnectionsPerIp: 50,
  rateLimit: 120,
  rateWindowMs: 60_000,
  idleTimeoutMs: 300_000,
  frameTimeoutMs: 30_000,
  transferTimeoutMs: 60_000,
  maxUploadSize: 10 * 1024 ** 3,
  maxClientFrameBytes: 65_536,
  maxServerFrameBytes: 16_777_216,
  shutdownGraceMs: 30_000,
});

export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_PORT = 5002;
export const DEFAULT_ROOT = './server_files';
export const DEFAULT_LOG_DIR = './logs';

/** Protocol version spoken on the native port. */
export const PROTOCOL_VERSION = 1;
export const SERVER_NAME = 'ftp-server/1.0.0';

/**
 * Linux drops handshakes silently when the accept queue is full, so a burst
 * of clients needs far more than Node's default backlog of 511.
 */
export const LISTEN_BACKLOG = 4096;
