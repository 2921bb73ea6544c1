import { FtpClient } from '../src/client/ftp-client';
import { compareContent, HashingSink, type ContentDigest } from '../src/tools/integrity';
import { summarise } from '../src/tools/latency';

/**
 * Phase 2: many short sessions, each the life of a typical client: connect,
 * list, download one small file, quit. Run all at once (a thundering herd:
 * does the server lose anyone?) and with a fixed number in flight (a steady
 * rate: how many sessions a second can it serve?).
 */

/** One batch of sessions. */
export interface ClientsResult {
  clients: number;
  /** Sessions running at once. */
  concurrency: number;
  wallMs: number;
  /** Sessions completed per second of wall time. */
  clientsPerSec: number;
  /** Per-session latency, connect to goodbye, ms (successful sessions only). */
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** Up to five distinct failure messages with counts, to tell a refusal from a timeout. */
  failureSamples: Record<string, number>;
}

/** One session: connect, LS, GET `file`, QUIT. Throws on any failure or wrong byte. */
async function oneSession(port: number, file: string, digest: ContentDigest, timeoutMs: number): Promise<void> {
  const client = await FtpClient.connect({ host: '127.0.0.1', port, timeoutMs });
  try {
    await client.list();
    const sink = new HashingSink();
    await client.get(file, sink);
    const problem = compareContent(digest, sink.digest());
    if (problem) throw new Error(`GET ${file}: ${problem}`);
    await client.quit();
  } finally {
    client.close();
  }
}

/** Run `clients` sessions with at most `concurrency` at once. */
export async function runClients(
  port: number, file: string, digest: ContentDigest,
  clients: number, concurrency: number, timeoutMs: number,
): Promise<ClientsResult> {
  const latencies: number[] = [];
  const failureSamples: Record<string, number> = {};
  let failures = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < clients) {
      next += 1;
      const t0 = process.hrtime.bigint();
      try {
        await oneSession(port, file, digest, timeoutMs);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        failures += 1;
        const message = err instanceof Error ? err.message : String(err);
        if (message in failureSamples || Object.keys(failureSamples).length < 5) {
          failureSamples[message] = (failureSamples[message] ?? 0) + 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients) }, worker));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const summary = summarise(latencies);
  return {
    clients,
    concurrency,
    wallMs,
    clientsPerSec: latencies.length / (wallMs / 1000),
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    failures,
    failureSamples,
  };
}
