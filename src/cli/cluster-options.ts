import os from 'node:os';
import type { Argv } from 'yargs';
import { TrustedProxies, TrustedProxiesError } from '../cluster/addresses';
import { DEFAULT_KEY_PREFIX } from '../cluster/redis-url';
import { UsageError } from './server-options';

/** How long a starting node waits for Redis before it serves on its own limits. */
export const DEFAULT_REDIS_START_WAIT_MS = 5_000;

/** Several servers behind one address: shared limits in Redis, PROXY headers from the balancer. */
export interface ClusterSettings {
  /** Shared per-address limits, failed logins and bans; absent: this process's own. */
  redis?: {
    /** As given: may hold a password, so never logged (see {@link redactUrl}). */
    url: string;
    keyPrefix: string;
    /** Unique among the running nodes; default `<hostname>-<pid>`. */
    nodeId: string;
  };
  /** The balancers whose PROXY header names the client; absent: the socket's peer is the client. */
  proxy?: { trusted: TrustedProxies };
}

/**
 * Declare the cluster options (beside `declareServerOptions`). Each also
 * reads `FTP_SERVER_<NAME>` once the parser has `.env('FTP_SERVER')`; the
 * Redis URL is best given that way, as a password in argv shows in `ps`.
 */
export function declareClusterOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('redis-url', {
      type: 'string',
      describe: 'Share per-IP limits, failed logins and bans with other servers in this Redis (redis:// or rediss://)',
    })
    .option('redis-prefix', { type: 'string', describe: `Prefix of every Redis key, one per cluster (default ${DEFAULT_KEY_PREFIX})` })
    .option('node-id', { type: 'string', describe: "This server's name in Redis, unique in the cluster (default <hostname>-<pid>)" })
    .option('proxy-protocol', {
      type: 'boolean',
      default: false,
      describe: 'Behind a load balancer: read the client address from a PROXY v1/v2 header on every port, FTP passive data ports included (needs --trusted-proxies)',
    })
    .option('trusted-proxies', { type: 'string', describe: 'Load balancer addresses or CIDR blocks allowed to send a PROXY header, comma-separated' });
}

type ParsedCluster = {
  'redis-url'?: string;
  'redis-prefix'?: string;
  'node-id'?: string;
  'proxy-protocol'?: boolean;
  'trusted-proxies'?: string;
};

/** Redis key prefixes and node ids stay short printable words: they end up in keys and log lines. */
const NAME = /^[\x21-\x7e]{1,100}$/;

/** Check the values; a bad one throws a {@link UsageError} naming the option (exit 2). */
export function toClusterSettings(args: ParsedCluster, defaultNodeId = `${os.hostname()}-${process.pid}`): ClusterSettings {
  const settings: ClusterSettings = {};
  const url = args['redis-url'];
  if (url === undefined) {
    // Without Redis these would silently do nothing; an operator who set them meant a cluster.
    if (args['redis-prefix'] !== undefined) throw new UsageError('--redis-prefix needs --redis-url');
    if (args['node-id'] !== undefined) throw new UsageError('--node-id needs --redis-url');
  } else {
    checkRedisUrl(url);
    const keyPrefix = args['redis-prefix'] ?? DEFAULT_KEY_PREFIX;
    if (!NAME.test(keyPrefix)) throw new UsageError(`--redis-prefix must be 1-100 printable characters without spaces (got ${JSON.stringify(keyPrefix)})`);
    const nodeId = args['node-id'] ?? defaultNodeId.replace(/[^\x21-\x7e]/g, '_');
    if (!NAME.test(nodeId)) throw new UsageError(`--node-id must be 1-100 printable characters without spaces (got ${JSON.stringify(nodeId)})`);
    settings.redis = { url, keyPrefix, nodeId };
  }
  const list = args['trusted-proxies'];
  if (args['proxy-protocol']) {
    if (list === undefined) throw new UsageError('--proxy-protocol needs --trusted-proxies (the load balancer addresses)');
    try {
      settings.proxy = { trusted: TrustedProxies.parse(list) };
    } catch (err) {
      if (err instanceof TrustedProxiesError) throw new UsageError(err.message);
      throw err;
    }
  } else if (list !== undefined) {
    // Trusting balancers without reading their header would log and limit the balancer, not the clients.
    throw new UsageError('--trusted-proxies needs --proxy-protocol');
  }
  return settings;
}

/** A usable Redis URL, or a UsageError that never repeats the URL (it may hold a password). */
function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('--redis-url is not a URL (expected redis://[user:password@]host:port[/db] or rediss://...)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`--redis-url must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  if (parsed.hostname === '') throw new UsageError('--redis-url has no host');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^(0|[1-9][0-9]{0,3})$/.test(db)) throw new UsageError(`--redis-url: the database must be a number (got /${db})`);
}
