import { Client } from 'basic-ftp';
import { compareContent, HashingSink, type ContentDigest } from '../src/tools/integrity';
import { summarise } from '../src/tools/latency';
import type { ClientsResult } from './many-clients';

/**
 * Many FTP clients at once, each the life of a typical one: log in, list a
 * folder, download one small file (its bytes checked), quit. The client is
 * basic-ftp, which logs in as FileZilla-like clients do (FEAT, TYPE I, OPTS
 * UTF8, then EPSV or PASV per transfer), the same against every server.
 */

/** Where the crowd goes. */
export interface CrowdTarget {
  port: number;
  user: string;
  password: string;
  /** Folder listed, and the file in it downloaded. */
  folder: string;
  file: string;
}

/** One session; throws on any failure or wrong byte. */
async function oneSession(target: CrowdTarget, digest: ContentDigest, timeoutMs: number): Promise<void> {
  const client = new Client(timeoutMs);
  try {
    await client.access({ host: '127.0.0.1', port: target.port, user: target.user, password: target.password });
    const listed = await client.list(target.folder);
    if (!listed.some((entry) => entry.name === target.file)) throw new Error(`LIST ${target.folder}: ${target.file} missing`);
    const sink = new HashingSink();
    await client.downloadTo(sink, `${target.folder}/${target.file}`);
    const problem = compareContent(digest, sink.digest());
    if (problem) throw new Error(`RETR ${target.file}: ${problem}`);
    await client.send('QUIT');
  } finally {
    client.close();
  }
}

/** Start `clients` sessions at once and wait for every one to end (each bounded by `timeoutMs` per step). */
export async function runFtpCrowd(target: CrowdTarget, digest: ContentDigest, clients: number, timeoutMs: number): Promise<ClientsResult> {
  const latencies: number[] = [];
  const failureSamples: Record<string, number> = {};
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const t0 = process.hrtime.bigint();
      try {
        await oneSession(target, digest, timeoutMs);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        failures += 1;
        // Numbers (ports, counts) vary; the kind of failure is what matters.
        const message = (err instanceof Error ? err.message : String(err)).replace(/\d+/g, 'N').slice(0, 160);
        if (message in failureSamples || Object.keys(failureSamples).length < 5) {
          failureSamples[message] = (failureSamples[message] ?? 0) + 1;
        }
      }
    }),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const summary = summarise(latencies);
  return {
    clients,
    concurrency: clients,
    wallMs,
    clientsPerSec: latencies.length / (wallMs / 1000),
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    failures,
    failureSamples,
  };
}
