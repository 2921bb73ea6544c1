/**
 * Options of the S3 backend, their defaults and limits, and the context its
 * modules share. Credentials are deliberately not an option: the SDK's
 * default chain finds them (environment, shared config files, the EC2
 * instance role), so they are never in our config, argv or logs.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { systemClock, type Clock } from '../../util/clock';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * GiB;
/** S3's most parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** S3's largest object. */
export const MAX_OBJECT_SIZE = 5 * 1024 * GiB;
/** S3's largest single CopyObject; bigger objects are copied in parts. */
export const MAX_SINGLE_COPY = 5 * GiB;

/** Defaults, named so docs/STORAGE-S3.md and the tests quote the same numbers. */
export const S3_DEFAULTS = {
  /** 8 MiB parts: S3's minimum is 5 MiB; larger parts cost memory per upload. */
  partSize: 8 * MiB,
  /** Parts in flight per upload. Memory per upload is about partSize × (queueSize + 2). */
  queueSize: 4,
  /** Keys per ListObjectsV2 page (S3's maximum is 1,000). */
  listPageSize: 1000,
  /** A multipart upload with no new part for this long is a leftover (see removeStaleUploads). */
  staleUploadAgeMs: 60 * 60 * 1000,
  /** Objects above this are copied with UploadPartCopy (S3's CopyObject limit). */
  copyThreshold: MAX_SINGLE_COPY,
  /** Part size of a multipart copy; raised when an object would need over 10,000 parts. */
  copyPartSize: 512 * MiB,
} as const;

/** How to reach the bucket and how to size transfers. */
export interface S3StorageOptions {
  bucket: string;
  /** Every key lives under this (`''` or absent: the whole bucket). `a/b` and `/a/b/` mean the same. */
  prefix?: string;
  /** A non-AWS endpoint (MinIO, Ceph RGW, R2...), e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  /** The bucket's region; absent: the SDK's default chain (AWS_REGION, config files). */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted endpoints need. */
  forcePathStyle?: boolean;
  /** Bytes per uploaded part (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once per upload (default 4). */
  queueSize?: number;
  /** Keys per listing page (default 1,000; tests use small pages). */
  listPageSize?: number;
  /** Age after which removeStaleUploads aborts a multipart upload (default 1 hour). */
  staleUploadAgeMs?: number;
  /** Objects above this size are copied in parts (default 5 GiB, S3's limit). */
  copyThreshold?: number;
  /** Part size of multipart copies (default 512 MiB, at least 5 MiB). */
  copyPartSize?: number;
  /** Injected time, for the stale-upload age. */
  clock?: Clock;
  /**
   * Builds the SDK client from the config derived from the options above
   * (tests pass one with the test endpoint's credentials). The storage
   * destroys a client it built itself on close(), and one from here too.
   */
  clientFactory?: (config: S3ClientConfig) => S3Client;
}

/** The sizes in force, validated. */
export interface S3Settings {
  readonly partSize: number;
  readonly queueSize: number;
  readonly listPageSize: number;
  readonly staleUploadAgeMs: number;
  readonly copyThreshold: number;
  readonly copyPartSize: number;
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`Invalid S3 option ${name}: ${value} (expected an integer from ${min} to ${max})`);
  }
  return value;
}

/**
 * The settings of `options` with defaults filled in.
 * @throws a plain Error (for the operator) for a value S3 would refuse.
 */
export function resolveSettings(options: S3StorageOptions): S3Settings {
  return {
    partSize: integerIn('partSize', options.partSize ?? S3_DEFAULTS.partSize, MIN_PART_SIZE, MAX_PART_SIZE),
    queueSize: integerIn('queueSize', options.queueSize ?? S3_DEFAULTS.queueSize, 1, 64),
    listPageSize: integerIn('listPageSize', options.listPageSize ?? S3_DEFAULTS.listPageSize, 1, 1000),
    staleUploadAgeMs: integerIn('staleUploadAgeMs', options.staleUploadAgeMs ?? S3_DEFAULTS.staleUploadAgeMs, 0, Number.MAX_SAFE_INTEGER),
    copyThreshold: integerIn('copyThreshold', options.copyThreshold ?? S3_DEFAULTS.copyThreshold, 0, MAX_SINGLE_COPY),
    copyPartSize: integerIn('copyPartSize', options.copyPartSize ?? S3_DEFAULTS.copyPartSize, MIN_PART_SIZE, MAX_PART_SIZE),
  };
}

/** The SDK client config for `options` (no credentials: the default chain supplies them). */
export function clientConfig(options: S3StorageOptions): S3ClientConfig {
  return {
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.forcePathStyle !== undefined && { forcePathStyle: options.forcePathStyle }),
    // Retries with backoff for throttling and 5xx are the SDK's (3 attempts).
    maxAttempts: 3,
    requestHandler: {
      // Fail fast on an endpoint that does not answer; a part upload that
      // stalls for two minutes is dead (the socket timeout is an idle timeout).
      connectionTimeout: 5_000,
      requestTimeout: 120_000,
    },
  };
}

/** What every module of the backend shares: one client, one bucket, one set of uploads in flight. */
export class S3Context {
  /** Multipart upload ids of this process still in flight (removeStaleUploads leaves them). */
  readonly activeUploads = new Set<string>();
  private checksumMode: Promise<boolean> | undefined;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly settings: S3Settings,
    readonly clock: Clock,
  ) {}

  /** Build the context of `options` (the client from the factory, or a default one). */
  static from(options: S3StorageOptions): S3Context {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) throw new Error('S3 bucket is required');
    const settings = resolveSettings(options);
    const config = clientConfig(options);
    const client = options.clientFactory ? options.clientFactory(config) : new S3Client(config);
    return new S3Context(client, options.bucket, settings, options.clock ?? systemClock);
  }

  /**
   * Whether multipart uploads declare CRC32 part checksums. The SDK adds a
   * CRC32 to every part unless told `WHEN_REQUIRED` (by config or the
   * AWS_REQUEST_CHECKSUM_CALCULATION variable); S3 then wants the upload
   * created with the same algorithm and every part's checksum at completion.
   */
  partChecksums(): Promise<boolean> {
    this.checksumMode ??= this.client.config
      .requestChecksumCalculation()
      .then((mode) => mode === 'WHEN_SUPPORTED')
      .catch(() => false);
    return this.checksumMode;
  }
}
