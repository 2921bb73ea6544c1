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

/**
 * Unsent reply bytes (answers the client has not read yet) above which a
 * session stops decoding commands until its socket drains. Without it, a
 * client that pipelines GETs or LSs and never reads makes the server hold
 * every answer in memory; with it, each connection holds at most this much
 * plus one answer. Above the socket's write high-water mark (16 KiB), so a
 * write that crosses it always ends in a 'drain'.
 */
export const MAX_UNSENT_REPLY_BYTES = 128 * 1024;

/**
 * Frames a connection may send that are not commands (not UTF-8, not JSON,
 * not an object, wrong `type`, missing or unknown `command`): each is
 * answered `400`, and the connection is closed after the last of these
 * answers (contract §6). No real client sends one, let alone a hundred.
 */
export const MAX_INVALID_FRAMES = 100;

/**
 * Bytes of hashing the shared hash worker may have queued ahead of a new
 * job. Beyond it, a download hashes its bytes inline as it sends them, at
 * its own pace, instead of waiting behind other downloads for its digest.
 */
export const HASH_QUEUE_MAX_BYTES = 1024 ** 3;
