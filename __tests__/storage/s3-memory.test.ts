/**
 * Bounded memory: 256 MiB streamed up and down through S3Storage (default
 * 8 MiB parts, 4 in flight) in a child process, whose peak RSS growth over
 * its warmed-up baseline must stay under partSize × (queueSize + 2) + 32 MiB
 * (docs/STORAGE-S3.md). The endpoint runs in its own process, so its memory
 * is not counted. The peak is the kernel's high-water mark (VmHWM), reset
 * after the warm-up, so no sample can miss it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';

const MiB = 1024 * 1024;
const TOTAL_MIB = 256;
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;
const BOUND = PART_SIZE * (QUEUE_SIZE + 2) + 32 * MiB;

const childScript = `
  require('ts-node').register({ transpileOnly: true });
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const { S3Client } = require('@aws-sdk/client-s3');
  const { S3Storage } = require(${JSON.stringify(path.join(__dirname, '../../src/storage/s3/s3-storage'))});
  const { parseClientPath } = require(${JSON.stringify(path.join(__dirname, '../../src/storage/path-rules'))});
  const [endpoint, bucket, totalMiB, partSize, queueSize] = process.argv.slice(1);
  const status = (field) => Number(new RegExp(field + ':\\\\s+(\\\\d+) kB').exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;

  async function upload(storage, name, mib) {
    const digest = crypto.createHash('sha256');
    const upload = await storage.beginUpload(parseClientPath(name), { replace: true });
    for (let i = 0; i < mib; i++) {
      const chunk = crypto.randomBytes(1024 * 1024);
      digest.update(chunk);
      if (!upload.stream.write(chunk)) await new Promise((r) => upload.stream.once('drain', r));
    }
    await new Promise((resolve, reject) => { upload.stream.once('error', reject); upload.stream.end(resolve); });
    const sha256 = digest.digest('hex');
    await upload.commit({ sha256, bytes: mib * 1024 * 1024 });
    return sha256;
  }
  async function download(storage, name) {
    const source = await storage.openRead(parseClientPath(name));
    const digest = crypto.createHash('sha256');
    for await (const chunk of source.createReadStream(0, source.size)) digest.update(chunk);
    await source.close();
    return { sha256: digest.digest('hex'), stored: source.storedSha256 };
  }
  (async () => {
    const storage = S3Storage.create({ bucket, prefix: 'memory', endpoint, region: 'us-east-1', forcePathStyle: true,
      partSize: Number(partSize), queueSize: Number(queueSize),
      clientFactory: (c) => new S3Client({ ...c, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }) });
    // Warm-up: every code path once, so the baseline includes loaded code and pools.
    await upload(storage, 'warm.bin', 24);
    await download(storage, 'warm.bin');
    const baseline = status('VmRSS');
    fs.writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
    const started = Date.now();
    const sent = await upload(storage, 'big.bin', Number(totalMiB));
    const uploadMs = Date.now() - started;
    const got = await download(storage, 'big.bin');
    const peak = status('VmHWM');
    await storage.close();
    process.stdout.write('RESULT ' + JSON.stringify({ baseline, peak, uploadMs, downloadMs: Date.now() - started - uploadMs,
      same: sent === got.sha256, stored: got.stored === sent }) + '\\n');
  })().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

let endpoint: S3Endpoint;
beforeAll(async () => {
  endpoint = await startS3Endpoint('memory-bucket');
}, 60_000);
afterAll(async () => {
  await endpoint?.stop();
});

it(`streams ${TOTAL_MIB} MiB up and down with RSS growth under partSize × (queueSize + 2) + 32 MiB`, async () => {
  const child = spawn(
    process.execPath,
    ['-e', childScript, endpoint.endpoint, endpoint.bucket, String(TOTAL_MIB), String(PART_SIZE), String(QUEUE_SIZE)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = /RESULT (.*)/.exec(output);
  if (code !== 0 || !line) throw new Error(`memory child failed (${code}):\n${output.slice(-3000)}`);
  const result = JSON.parse(line[1]) as { baseline: number; peak: number; uploadMs: number; downloadMs: number; same: boolean; stored: boolean };
  const growth = result.peak - result.baseline;
  process.stdout.write(
    `[s3-memory] ${TOTAL_MIB} MiB up ${result.uploadMs} ms, down ${result.downloadMs} ms; ` +
      `RSS baseline ${(result.baseline / MiB).toFixed(1)} MiB, peak growth ${(growth / MiB).toFixed(1)} MiB ` +
      `(bound ${(BOUND / MiB).toFixed(0)} MiB)\n`,
  );
  expect(result.same).toBe(true);
  expect(result.stored).toBe(true);
  expect(growth).toBeLessThan(BOUND);
}, 300_000);
