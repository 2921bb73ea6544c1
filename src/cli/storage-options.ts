/**
 * Where the served files live: `--storage local` (the `--root` folder, the
 * default) or `--storage s3` (a bucket and key prefix on AWS S3 or any
 * S3-compatible store). Declared beside the other server options, so each
 * is also a config-file key and an `FTP_SERVER_*` variable.
 *
 * Credentials are deliberately not options: the AWS SDK's default chain
 * finds them (environment, shared files, the EC2 instance role), so they are
 * never in argv, the config file, `--print-config` or the log.
 */
import type { Argv } from 'yargs';
import type { Log } from '../logging/log';
import { normalizePrefix } from '../storage/s3/keys';
import type { S3Storage } from '../storage/s3/s3-storage';
import { UsageError } from './server-options';

export const STORAGE_KINDS = ['local', 's3'] as const;

/** The S3 settings after validation. */
export interface S3Settings {
  kind: 's3';
  bucket: string;
  /** Normalised: `''` or `a/b/`. */
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle: boolean;
}

/** Which storage to serve from. */
export type StorageSettings = { kind: 'local' } | S3Settings;

/** Declare `--storage` and the `--s3-*` options on a yargs instance. */
export function declareStorageOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('storage', { type: 'string', default: 'local', choices: STORAGE_KINDS, describe: 'Where the files live: local (--root) or s3 (--s3-bucket)' })
    .option('s3-bucket', { type: 'string', describe: 'S3 bucket of the files (with --storage s3)' })
    .option('s3-prefix', { type: 'string', describe: 'Key prefix the files live under (default: the whole bucket)' })
    .option('s3-endpoint', { type: 'string', describe: 'S3-compatible endpoint URL (MinIO, Ceph, R2...); default AWS' })
    .option('s3-region', { type: 'string', describe: "Bucket's region (default: the SDK's chain, e.g. AWS_REGION)" })
    .option('s3-force-path-style', { type: 'boolean', describe: 'Path-style URLs (endpoint/bucket/key), as MinIO needs' });
}

type ParsedStorage = {
  storage?: string;
  's3-bucket'?: string;
  's3-prefix'?: string;
  's3-endpoint'?: string;
  's3-region'?: string;
  's3-force-path-style'?: boolean;
};

const S3_OPTIONS = ['s3-bucket', 's3-prefix', 's3-endpoint', 's3-region', 's3-force-path-style'] as const;

// Loose on purpose: S3's own rules are stricter, but legacy buckets and other
// stores allow more; the start-up check() refuses what the endpoint refuses.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Check the storage options; a {@link UsageError} (exit 2) names the bad one. */
export function toStorageSettings(args: ParsedStorage): StorageSettings {
  const kind = args.storage ?? 'local';
  if (kind === 'local') {
    const stray = S3_OPTIONS.find((name) => args[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --storage s3`);
    return { kind: 'local' };
  }
  if (kind !== 's3') throw new UsageError(`--storage must be one of ${STORAGE_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  const bucket = args['s3-bucket'];
  if (bucket === undefined || bucket === '') throw new UsageError('--storage s3 needs --s3-bucket');
  if (!BUCKET.test(bucket)) throw new UsageError(`--s3-bucket must be a bucket name: letters, digits, '.', '-', '_' (got ${JSON.stringify(bucket)})`);
  let prefix: string;
  try {
    prefix = normalizePrefix(args['s3-prefix'] ?? '');
  } catch (err) {
    throw new UsageError(`--s3-prefix: ${(err as Error).message}`);
  }
  const region = args['s3-region'];
  if (region !== undefined && !REGION.test(region)) {
    throw new UsageError(`--s3-region must be a region name such as eu-west-1 (got ${JSON.stringify(region)})`);
  }
  const endpoint = args['s3-endpoint'];
  return {
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint: checkEndpoint(endpoint) } : {}),
    ...(region !== undefined ? { region } : {}),
    forcePathStyle: args['s3-force-path-style'] ?? false,
  };
}

/** An http(s) URL without credentials in it; the value is not echoed when it holds some. */
function checkEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--s3-endpoint must be a URL such as http://127.0.0.1:9000 (got ${JSON.stringify(raw)})`);
  }
  // A key in the URL would end up in --print-config and in error messages.
  if (url.username !== '' || url.password !== '') {
    throw new UsageError("--s3-endpoint must not hold credentials (user:password@): the SDK's default chain supplies them");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--s3-endpoint must start with http:// or https:// (got ${JSON.stringify(raw)})`);
  }
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--s3-endpoint must not have a query or fragment (got ${JSON.stringify(raw)})`);
  return raw;
}

/** `s3://bucket/prefix/` (and the endpoint, when not AWS), for the log. */
export function describeStorage(settings: S3Settings): string {
  return `s3://${settings.bucket}/${settings.prefix}${settings.endpoint !== undefined ? ` at ${settings.endpoint}` : ''}`;
}

/**
 * Open the bucket for serving: one listing request proves the bucket, the
 * endpoint and the credentials, then multipart uploads a killed server left
 * are aborted (see stale-uploads.ts). Logs what it found.
 * @throws a plain Error (for the operator) when the bucket cannot be used.
 */
export async function openS3Storage(settings: S3Settings, log: Log): Promise<S3Storage> {
  // Loaded here, not at the top: the AWS SDK takes seconds to load on a busy
  // machine, and a server on local storage should not pay for it.
  const { S3Storage: Backend } = await import('../storage/s3/s3-storage');
  const storage = Backend.create({
    bucket: settings.bucket,
    prefix: settings.prefix,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.region !== undefined ? { region: settings.region } : {}),
  });
  const where = describeStorage(settings);
  try {
    await storage.check();
    const swept = await storage.removeStaleUploads();
    log.info(`S3 storage ${where}: reachable; aborted ${swept} stale multipart upload(s) left by an earlier run`);
  } catch (err) {
    await storage.close();
    throw new Error(`S3 storage ${where} is not usable: ${reason(err)}`, { cause: err });
  }
  return storage;
}

/** The SDK's reason behind a StorageError, without its request details. */
function reason(err: unknown): string {
  const own = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (!(cause instanceof Error)) return own;
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${own} (${cause.name}${status !== undefined ? `, HTTP ${status}` : ''}: ${cause.message})`;
}
