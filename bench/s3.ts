/**
 * `node -r ts-node/register/transpile-only bench/s3.ts [options]`: the S3
 * backend's own overhead. Uploads and downloads the same bytes through
 * S3Storage and through the SDK directly (lib-storage's Upload, a plain
 * GetObject) against the same endpoint, in the same run, alternating which
 * goes first; prints a Markdown table of medians and the ratio.
 *
 * Without --endpoint it starts s3rver (the test endpoint) in a child process,
 * which measures mostly s3rver; against MinIO or S3 pass --endpoint/--bucket
 * (credentials from the SDK's default chain, as the server takes them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import yargs from 'yargs';
import { parseClientPath } from '../src/storage/path-rules';
import { S3Storage } from '../src/storage/s3/s3-storage';
import { S3_DEFAULTS } from '../src/storage/s3/options';
import { S3RVER_CREDENTIALS, startS3Endpoint } from '../__tests__/helpers/s3-endpoint';

const MiB = 1024 * 1024;

interface Options {
  sizeMib: number;
  runs: number;
  endpoint?: string;
  bucket?: string;
  region: string;
  prefix: string;
}

/** The same bytes as a fresh stream each time: 1 MiB slices of one buffer (not reused while held). */
function source(data: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + MiB));
      offset += MiB;
    },
  });
}

async function drain(stream: AsyncIterable<Buffer | Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

async function time(what: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await what();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Run the benchmark; resolves with the Markdown table. */
export async function runS3Bench(options: Options): Promise<string> {
  const local = options.endpoint === undefined ? await startS3Endpoint('bench-bucket') : undefined;
  const endpoint = options.endpoint ?? local!.endpoint;
  const bucket = options.bucket ?? local!.bucket;
  const credentials = local ? S3RVER_CREDENTIALS : undefined;
  const config = { endpoint, region: options.region, forcePathStyle: true, ...(credentials && { credentials }) };
  const storage = S3Storage.create({
    bucket,
    prefix: options.prefix,
    endpoint,
    region: options.region,
    forcePathStyle: true,
    clientFactory: (c) => new S3Client({ ...c, ...(credentials && { credentials }) }),
  });
  const sdk = new S3Client(config);
  const bytes = options.sizeMib * MiB;
  const data = randomBytes(bytes);
  const digest = createHash('sha256').update(data).digest('hex');
  const file = parseClientPath('bench-ours.bin');
  const sdkKey = `${storage.prefix}bench-sdk.bin`;
  const figures = { oursUp: [] as number[], sdkUp: [] as number[], oursDown: [] as number[], sdkDown: [] as number[] };

  const oursUp = () => time(async () => {
    const upload = await storage.beginUpload(file, { size: bytes, replace: true });
    await new Promise<void>((resolve, reject) => {
      source(data).pipe(upload.stream).on('finish', resolve).on('error', reject);
    });
    // As an FTP STOR: the digest (the transfer layer's, computed outside the
    // timing here) arrives only at commit, so a multipart upload is stamped
    // by a copy onto itself — that cost is part of the figure.
    await upload.commit({ sha256: digest, bytes });
  });
  const sdkUp = () => time(() => new Upload({
    client: sdk,
    params: { Bucket: bucket, Key: sdkKey, Body: source(data) },
    partSize: S3_DEFAULTS.partSize,
    queueSize: S3_DEFAULTS.queueSize,
  }).done());
  const oursDown = () => time(async () => {
    const opened = await storage.openRead(file);
    if ((await drain(opened.createReadStream(0, opened.size))) !== bytes) throw new Error('short download (ours)');
    await opened.close();
  });
  const sdkDown = () => time(async () => {
    const out = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: sdkKey }));
    if ((await drain(out.Body as Readable)) !== bytes) throw new Error('short download (SDK)');
  });

  try {
    // Warm-up (not counted): connections, code paths, first-touch memory.
    await oursUp();
    await sdkUp();
    for (let run = 0; run < options.runs; run++) {
      // Alternate who goes first, so neither always gets the warmer cache.
      const pairs: Array<[keyof typeof figures, () => Promise<number>]> =
        run % 2 === 0
          ? [['oursUp', oursUp], ['sdkUp', sdkUp], ['oursDown', oursDown], ['sdkDown', sdkDown]]
          : [['sdkUp', sdkUp], ['oursUp', oursUp], ['sdkDown', sdkDown], ['oursDown', oursDown]];
      for (const [name, measure] of pairs) figures[name].push(await measure());
      process.stderr.write(`run ${run + 1}/${options.runs} done\n`);
    }
  } finally {
    await storage.close();
    sdk.destroy();
    await local?.stop();
  }

  const rate = (ms: number) => bytes / MiB / (ms / 1000);
  const row = (what: string, ours: number[], theirs: number[]) => {
    const a = rate(median(ours));
    const b = rate(median(theirs));
    return `| ${what} | ${a.toFixed(1)} MiB/s | ${b.toFixed(1)} MiB/s | ${(a / b).toFixed(2)} |`;
  };
  return [
    `S3 backend vs the SDK directly: ${options.sizeMib} MiB, median of ${options.runs} run(s), ` +
      `${local ? 's3rver (child process, 127.0.0.1)' : endpoint}; parts ${S3_DEFAULTS.partSize / MiB} MiB × ${S3_DEFAULTS.queueSize} in flight`,
    '',
    '| transfer | S3Storage | SDK direct | ratio (S3Storage / SDK) |',
    '|---|---|---|---|',
    row('upload', figures.oursUp, figures.sdkUp),
    row('download', figures.oursDown, figures.sdkDown),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('bench/s3.ts')
    .option('size-mib', { type: 'number', default: 256, describe: 'MiB per transfer' })
    .option('runs', { type: 'number', default: 5, describe: 'Runs per figure (medians are reported)' })
    .option('endpoint', { type: 'string', describe: 'S3 endpoint (default: start s3rver)' })
    .option('bucket', { type: 'string', describe: 'Bucket (with --endpoint)' })
    .option('region', { type: 'string', default: 'us-east-1' })
    .option('prefix', { type: 'string', default: 'bench' })
    .check((a) => (a.endpoint === undefined) === (a.bucket === undefined) || 'give --endpoint and --bucket together')
    .strict()
    .parseAsync();
  process.stdout.write(
    await runS3Bench({
      sizeMib: args['size-mib'],
      runs: args.runs,
      endpoint: args.endpoint,
      bucket: args.bucket,
      region: args.region,
      prefix: args.prefix,
    }),
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
