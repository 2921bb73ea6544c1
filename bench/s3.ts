/**
 * The S3 phase of `npm run bench` (issue 14): the server's overhead on an S3
 * backend. One file goes up and down through the server (the real CLI with
 * --storage s3, a byte-moving client as curl would be) and through the AWS
 * SDK directly (lib-storage's Upload with the same part size and parts in
 * flight, a plain GetObject) to the same endpoint and bucket, alternated
 * round by round in the same run; the ratio is the server's overhead. The
 * server's RSS is sampled throughout (the 2 GiB figure of issue 14).
 *
 * Without an endpoint it starts s3rver (the test endpoint) in a child
 * process, which then dominates the figures: the ratio is what carries over.
 * Against MinIO or S3 pass --s3-endpoint/--s3-bucket (credentials from the
 * SDK's default chain, as the server takes them).
 *
 * Run alone: `node -r ts-node/register/transpile-only bench/s3.ts [--size 256MiB] [--runs 3]`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import yargs from 'yargs';
import { median } from '../src/tools/latency';
import { parseSize } from '../src/tools/sizes';
import { S3_DEFAULTS } from '../src/storage/s3/options';
import { S3RVER_CREDENTIALS, startS3Endpoint } from '../__tests__/helpers/s3-endpoint';
import { timedRawDownload, timedRawUpload } from './raw-transfers';
import type { Measured } from './results';
import { startServerProcess } from './server-process';
import { FILE_CHUNK_BYTES, hashFile, writeRandomFile } from './throughput';

const MiB = 1024 * 1024;

/** What the phase needs. */
export interface S3PhaseOptions {
  bytes: number;
  runs: number;
  /** Folder for the file, the server's logs (removed by the caller). */
  work: string;
  timeoutMs: number;
  logLevel: string;
  /** An endpoint of your own (MinIO, S3); absent: s3rver in a child process. */
  endpoint?: string;
  bucket?: string;
  region: string;
}

/** What the phase measured; rates in 10^6 bytes per second. */
export interface S3Result {
  bytes: number;
  /** `s3rver (child process)` or the endpoint given. */
  endpoint: string;
  partSize: number;
  queueSize: number;
  serverUpload: Measured;
  sdkUpload: Measured;
  serverDownload: Measured;
  sdkDownload: Measured;
  /** Server / SDK medians: 1 means no overhead. */
  uploadRatio: number;
  downloadRatio: number;
  /** The server's RSS after the warm-up, and its peak growth over that while uploading and downloading, KiB. */
  serverRss: { baselineKiB: number; uploadGrowthKiB: number; downloadGrowthKiB: number };
}

const measured = (runs: number[]): Measured => ({ median: median(runs), runs });

async function seconds(what: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await what();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Run `work` while sampling `rssKiB` every 100 ms; also returns the peak seen. */
async function peakDuring<T>(rssKiB: () => number, work: () => Promise<T>): Promise<{ result: T; peakKiB: number }> {
  let peak = rssKiB();
  const timer = setInterval(() => (peak = Math.max(peak, rssKiB())), 100);
  try {
    const result = await work();
    return { result, peakKiB: Math.max(peak, rssKiB()) };
  } finally {
    clearInterval(timer);
  }
}

/** The phase; see the file comment. `say` gets a line of progress now and then. */
export async function measureS3(options: S3PhaseOptions, say: (line: string) => void): Promise<S3Result> {
  const local = options.endpoint === undefined ? await startS3Endpoint('bench-bucket') : undefined;
  const endpoint = options.endpoint ?? local!.endpoint;
  const bucket = options.bucket ?? local!.bucket;
  // s3rver's fixed key pair exists only on the test endpoint; anywhere else the default chain.
  const credentialEnv = local ? { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey } : {};
  const sdk = new S3Client({ endpoint, region: options.region, forcePathStyle: true, ...(local && { credentials: S3RVER_CREDENTIALS }) });
  const file = path.join(options.work, 's3-bench.bin');
  let server: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  try {
    say(`s3: writing a ${options.bytes}-byte file`);
    await writeRandomFile(file, options.bytes);
    const { sha256 } = await hashFile(file);
    const root = path.join(options.work, 's3-unused-root');
    server = await startServerProcess({
      root, logDir: path.join(options.work, 's3-logs'), maxConnections: 100, logLevel: options.logLevel,
      extraArgs: ['--storage', 's3', '--s3-bucket', bucket, '--s3-prefix', 'bench-server', '--s3-endpoint', endpoint,
        '--s3-region', options.region, '--s3-force-path-style', '--no-transfer-log'],
      env: credentialEnv,
    });
    const target = { port: server.port, timeoutMs: options.timeoutMs };
    const sdkKey = 'bench-sdk/s3-bench.bin';
    const rate = (s: number) => options.bytes / 1e6 / s;
    const contenders = {
      serverUp: () => timedRawUpload(target, file, 's3-bench.bin', options.bytes, sha256),
      sdkUp: async () => rate(await seconds(() => new Upload({
        client: sdk,
        params: { Bucket: bucket, Key: sdkKey, Body: fs.createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES }) },
        partSize: S3_DEFAULTS.partSize,
        queueSize: S3_DEFAULTS.queueSize,
      }).done())),
      serverDown: () => timedRawDownload(target, 's3-bench.bin', options.bytes, sha256),
      sdkDown: async () => rate(await seconds(async () => {
        const out = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: sdkKey }));
        let got = 0;
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) got += chunk.length;
        if (got !== options.bytes) throw new Error(`SDK download: ${got} of ${options.bytes} bytes`);
      })),
    };
    say(`s3: warm-up, then ${options.runs} rounds of server and SDK uploads and downloads, alternated`);
    await contenders.serverUp();
    await contenders.sdkUp();
    await contenders.serverDown();
    const s = server;
    const baselineKiB = s.rssKiB();
    const figures = { serverUp: [] as number[], sdkUp: [] as number[], serverDown: [] as number[], sdkDown: [] as number[] };
    let uploadPeak = baselineKiB;
    let downloadPeak = baselineKiB;
    for (let run = 0; run < options.runs; run++) {
      const even = run % 2 === 0;
      const up = await peakDuring(() => s.rssKiB(), async () => {
        for (const key of even ? (['serverUp', 'sdkUp'] as const) : (['sdkUp', 'serverUp'] as const)) figures[key].push(await contenders[key]());
      });
      uploadPeak = Math.max(uploadPeak, up.peakKiB);
      const down = await peakDuring(() => s.rssKiB(), async () => {
        for (const key of even ? (['serverDown', 'sdkDown'] as const) : (['sdkDown', 'serverDown'] as const)) figures[key].push(await contenders[key]());
      });
      downloadPeak = Math.max(downloadPeak, down.peakKiB);
      say(`s3: round ${run + 1}/${options.runs} done`);
    }
    const result = {
      serverUpload: measured(figures.serverUp),
      sdkUpload: measured(figures.sdkUp),
      serverDownload: measured(figures.serverDown),
      sdkDownload: measured(figures.sdkDown),
    };
    return {
      bytes: options.bytes,
      endpoint: local ? 's3rver 3.7.1 (child process, 127.0.0.1)' : endpoint,
      partSize: S3_DEFAULTS.partSize,
      queueSize: S3_DEFAULTS.queueSize,
      ...result,
      uploadRatio: result.serverUpload.median / result.sdkUpload.median,
      downloadRatio: result.serverDownload.median / result.sdkDownload.median,
      serverRss: { baselineKiB, uploadGrowthKiB: uploadPeak - baselineKiB, downloadGrowthKiB: downloadPeak - baselineKiB },
    };
  } finally {
    await server?.stop();
    sdk.destroy();
    await local?.stop();
    await fs.promises.rm(file, { force: true });
  }
}

/** The phase's Markdown lines. */
export function s3Table(r: S3Result, num: (value: number, digits?: number) => string): string[] {
  const mb = (m: Measured) => `${num(m.median)} MB/s`;
  const range = (m: Measured) => (m.runs.length > 1 ? `${num(Math.min(...m.runs))}–${num(Math.max(...m.runs))}` : '');
  const size = r.bytes >= 1024 ** 3 ? `${num(r.bytes / 1024 ** 3)} GiB` : `${num(r.bytes / MiB)} MiB`;
  return [
    `S3 backend, ${size} per transfer against ${r.endpoint}; parts ${num(r.partSize / MiB)} MiB × ${r.queueSize} in flight, ` +
      'server and SDK alternated round by round:',
    '',
    '| transfer | through the server (--storage s3, byte-moving client) | SDK directly | server / SDK |',
    '|---|---|---|---|',
    `| upload | ${mb(r.serverUpload)} ${range(r.serverUpload)} | ${mb(r.sdkUpload)} ${range(r.sdkUpload)} | ${num(r.uploadRatio, 2)} |`,
    `| download | ${mb(r.serverDownload)} ${range(r.serverDownload)} | ${mb(r.sdkDownload)} ${range(r.sdkDownload)} | ${num(r.downloadRatio, 2)} |`,
    '',
    `The server's RSS: ${num(r.serverRss.baselineKiB / 1024, 1)} MiB after the warm-up; peak growth over that ` +
      `${num(r.serverRss.uploadGrowthKiB / 1024, 1)} MiB while uploading, ${num(r.serverRss.downloadGrowthKiB / 1024, 1)} MiB while downloading.`,
  ];
}

async function main(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('bench/s3.ts')
    .option('size', { type: 'string', default: '256MiB', describe: 'Bytes per transfer' })
    .option('runs', { type: 'number', default: 3, describe: 'Rounds (medians are reported)' })
    .option('s3-endpoint', { type: 'string', describe: 'S3 endpoint (default: start s3rver)' })
    .option('s3-bucket', { type: 'string', describe: 'Bucket (with --s3-endpoint)' })
    .option('s3-region', { type: 'string', default: 'us-east-1' })
    .check((a) => (a['s3-endpoint'] === undefined) === (a['s3-bucket'] === undefined) || 'give --s3-endpoint and --s3-bucket together')
    .strict()
    .parseAsync();
  const work = await fs.promises.mkdtemp(path.join((await import('node:os')).tmpdir(), 'ftp-bench-s3-'));
  try {
    const result = await measureS3(
      {
        bytes: parseSize(args.size), runs: args.runs, work, timeoutMs: 120_000, logLevel: 'warn', region: args['s3-region'],
        ...(args['s3-endpoint'] !== undefined ? { endpoint: args['s3-endpoint'], bucket: args['s3-bucket'] } : {}),
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    process.stdout.write(`${s3Table(result, (v, d = 0) => v.toFixed(d)).join('\n')}\n`);
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
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
