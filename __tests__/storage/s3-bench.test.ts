/**
 * Smoke test of bench/s3.ts: a tiny run (6 MiB, one run, its own s3rver)
 * must produce the table with both transfers measured on both sides. The
 * figures themselves belong to the benchmark, not to this test.
 */
import { runS3Bench } from '../../bench/s3';

it('bench/s3.ts measures upload and download through S3Storage and the SDK, and prints the table', async () => {
  const table = await runS3Bench({ sizeMib: 6, runs: 1, region: 'us-east-1', prefix: 'bench-smoke' });
  const rows = table.split('\n').filter((line) => /^\| (upload|download) \|/.test(line));
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    const [, , ours, sdk, ratio] = row.split('|').map((cell) => cell.trim());
    expect(Number.parseFloat(ours)).toBeGreaterThan(0);
    expect(Number.parseFloat(sdk)).toBeGreaterThan(0);
    expect(Number.parseFloat(ratio)).toBeGreaterThan(0);
  }
}, 120_000);
