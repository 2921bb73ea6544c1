/**
 * The S3 phase of the bench, short version (12 MiB: past one part, so the
 * multipart path runs; one round): the server on --storage s3 and the SDK
 * directly, against the phase's own s3rver, each must have moved the file
 * (the server's digests are checked inside), and the result must carry
 * every figure the report prints. The figures themselves belong to the
 * benchmark, not to this test.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { measureS3, s3Table } from '../../bench/s3';
import { QUICK_SETTINGS } from '../../bench/run';

it('measures uploads and downloads through the server on S3 and through the SDK, with the server RSS, and prints the table', async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-s3-bench-'));
  const said: string[] = [];
  try {
    const result = await measureS3(
      { bytes: QUICK_SETTINGS.s3FileSize, runs: QUICK_SETTINGS.s3Runs, work, timeoutMs: 60_000, logLevel: 'warn', region: 'us-east-1' },
      (line) => said.push(line),
    );
    expect(result.bytes).toBe(12 * 1024 * 1024);
    for (const figure of [result.serverUpload, result.sdkUpload, result.serverDownload, result.sdkDownload]) {
      expect(figure.runs).toHaveLength(1);
      expect(figure.median).toBeGreaterThan(0);
    }
    expect(result.uploadRatio).toBeCloseTo(result.serverUpload.median / result.sdkUpload.median);
    expect(result.downloadRatio).toBeCloseTo(result.serverDownload.median / result.sdkDownload.median);
    expect(result.serverRss.baselineKiB).toBeGreaterThan(10 * 1024);
    expect(result.serverRss.uploadGrowthKiB).toBeGreaterThanOrEqual(0);
    expect(result.serverRss.downloadGrowthKiB).toBeGreaterThanOrEqual(0);
    const table = s3Table(result, (v, d = 0) => v.toFixed(d)).join('\n');
    expect(table).toMatch(/^\| upload \| [\d.]+ MB\/s .*\| [\d.]+ MB\/s .*\| [\d.]+ \|$/m);
    expect(table).toMatch(/^\| download \| [\d.]+ MB\/s .*\| [\d.]+ MB\/s .*\| [\d.]+ \|$/m);
    expect(table).toMatch(/The server's RSS: [\d.]+ MiB after the warm-up/);
    expect(said.some((line) => /round 1\/1 done/.test(line))).toBe(true);
    // Nothing left behind in the work folder but the server's logs.
    expect((await fs.readdir(work)).filter((name) => name !== 's3-logs')).toEqual([]);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}, 180_000);
