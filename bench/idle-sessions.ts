import { FtpClient } from '../src/client/ftp-client';
import type { ServerProcess } from './server-process';

/**
 * Phase 3: what an idle connected session costs the server in memory. The
 * server's resident size is read with no sessions, then with N sessions
 * greeted and idle; the difference over N is the cost of one.
 */

export interface IdleResult {
  sessions: number;
  /** Sessions still open when the memory was read. */
  held: number;
  baselineKiB: number;
  loadedKiB: number;
  perSessionKiB: number;
  /** RSS after the sessions sat idle for the rest period (V8 gives back its burst garbage). */
  restingKiB: number;
  perSessionRestingKiB: number;
  /** Time to open and greet all sessions, ms. */
  openMs: number;
}

/** Connections opened at once: enough to be quick, few enough to stay within the listen backlog. */
const OPEN_CONCURRENCY = 256;

/**
 * The server's RSS once it stops moving: the kernel and V8 settle after a
 * burst, so read until two readings 200 ms apart agree within 0.5 % (at most 3 s).
 */
async function settledRss(server: ServerProcess): Promise<number> {
  let previous = server.rssKiB();
  for (let i = 0; i < 15; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const current = server.rssKiB();
    if (Math.abs(current - previous) <= previous * 0.005) return current;
    previous = current;
  }
  return previous;
}

/** Measure on a freshly started `server` (one with no history, so the baseline is honest). */
export async function measureIdleSessions(
  server: ServerProcess,
  sessions: number,
  timeoutMs: number,
  /** How long the sessions then sit idle before the second reading. */
  restMs: number,
): Promise<IdleResult> {
  // One full session first, so code paths a session needs are loaded before the baseline.
  const warm = await FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs });
  await warm.list();
  await warm.quit();
  const baselineKiB = await settledRss(server);

  const clients: FtpClient[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  try {
    const opener = async (): Promise<void> => {
      while (next < sessions) {
        next += 1;
        clients.push(await FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, sessions) }, opener));
    const openMs = Number(process.hrtime.bigint() - started) / 1e6;
    const loadedKiB = await settledRss(server);
    // Right after the burst the young generation is still grown; V8's
    // memory reducer gives it back after some quiet seconds. Both are real:
    // the first is the peak, the second what idle sessions cost at rest.
    if (restMs > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
    const restingKiB = restMs > 0 ? await settledRss(server) : loadedKiB;
    const held = clients.filter((client) => !client.closed).length;
    if (held === 0) throw new Error('no idle session survived until the measurement');
    return {
      sessions,
      held,
      baselineKiB,
      loadedKiB,
      perSessionKiB: (loadedKiB - baselineKiB) / held,
      restingKiB,
      perSessionRestingKiB: (restingKiB - baselineKiB) / held,
      openMs,
    };
  } finally {
    for (const client of clients) client.close();
  }
}
