import { randomBytes } from 'node:crypto';
import { FtpClient } from '../client/ftp-client';
import { bufferSource, digestOf, randomBytesOf } from './integrity';
import { elapsedMs } from './latency';
import { MIX_WEIGHTS, pickOp, runOp, SessionState, type MixSizes, type OpKind, type OpName, type SeedFile, type SeedSet } from './stress-mix';
import { StressStats, type CommandRow, type ErrorSample } from './stress-stats';

/** What a stress run does and against which server. */
export interface StressOptions {
  host: string;
  port: number;
  /** Concurrent sessions. */
  clients: number;
  /** How long the sessions loop, in seconds. */
  durationSec: number;
  sizes: MixSizes;
  /** Seeded files of each class. */
  seedSmall: number;
  seedLarge: number;
  /** Client-side timeout per wait, in ms. */
  timeoutMs: number;
  /** Interval of the live line, in ms (0 = none). */
  liveIntervalMs: number;
  onLive?: (line: string) => void;
  /** Runs after seeding, before the sessions start (tests use it to tamper with the server's files). */
  afterSeed?: (seeds: SeedSet) => Promise<void> | void;
  /** Fixed run id (default: a fresh one). */
  runId?: string;
  /** Ends the loops early, as if the duration were over (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Go on past the duration until every command of the mix has run at
   * least once, and so has its row in the report (for at most
   * {@link COVER_LIMIT_MS} more). The mix is random: a short run on a loaded
   * machine does a handful of commands and can miss one.
   */
  cover?: boolean;
}

/** Defaults of the optional fields of {@link StressOptions}. */
export const STRESS_DEFAULTS = Object.freeze({
  sizes: Object.freeze({ smallMin: 4 * 1024, smallMax: 64 * 1024, large: 4 * 1024 * 1024 }),
  seedSmall: 8,
  seedLarge: 2,
  timeoutMs: 30_000,
  liveIntervalMs: 1_000,
});

/** Everything a run found, as printed in the final table and the JSON. */
export interface StressReport {
  runId: string;
  host: string;
  port: number;
  clients: number;
  /** Wall time of the loop phase, seconds. */
  seconds: number;
  ops: number;
  opsPerSec: number;
  /** Payload bytes moved (GET and PUT). */
  bytes: number;
  /** Payload throughput, 10^6 bytes per second. */
  mbPerSec: number;
  errors: number;
  integrityFailures: number;
  connectionFailures: number;
  commands: Partial<Record<OpName, CommandRow>>;
  errorSamples: ErrorSample[];
  /** True when the run's folder was removed from the server at the end. */
  cleanedUp: boolean;
}

/** How long in-flight commands may run past the deadline before their sessions are cut. */
const STOP_GRACE_MS = 15_000;
/** How long `cover` may run past the duration. */
export const COVER_LIMIT_MS = 60_000;
/** Pause before a session reconnects after losing its connection. */
const RECONNECT_PAUSE_MS = 200;

/**
 * Seed a run folder, loop `clients` sessions over the mix until the
 * deadline, then remove the folder. Never throws for a failing server:
 * failures are counted in the report. Throws only when the run cannot start
 * (no connection for seeding).
 */
export async function runStress(options: StressOptions): Promise<StressReport> {
  const runId = options.runId ?? `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const connect = () => FtpClient.connect({ host: options.host, port: options.port, timeoutMs: options.timeoutMs });
  const setup = await connect();
  const stats = new StressStats();
  let seeds: SeedSet;
  try {
    seeds = await seed(setup, `stress-${runId}`, options);
    await options.afterSeed?.(seeds);
  } catch (err) {
    setup.close();
    throw err;
  }

  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.durationSec * 1000;
  let cut = false;
  const clients = new Set<FtpClient>();
  const ticker = startTicker(stats, options, started);
  const ran = new Set<OpName>();
  const uncovered = (): OpKind[] => (options.cover ? MIX_KINDS.filter((kind) => !ran.has(kind)) : []);
  const overtime = options.cover ? COVER_LIMIT_MS : 0;
  const cutAll = () => {
    cut = true;
    for (const client of clients) client.close();
  };
  let hardStop = setTimeout(cutAll, options.durationSec * 1000 + overtime + STOP_GRACE_MS);
  const onAbort = () => {
    clearTimeout(hardStop);
    hardStop = setTimeout(cutAll, STOP_GRACE_MS);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const going = () => {
    if (cut || options.signal?.aborted) return false;
    const now = Date.now();
    return now < deadline || (now < deadline + overtime && uncovered().length > 0);
  };

  const session = async (index: number): Promise<void> => {
    const state = new SessionState(`${seeds.folder}/c${index}`, seeds, options.sizes);
    let client: FtpClient | null = null;
    while (going()) {
      if (!client || client.closed) {
        if (client) {
          clients.delete(client);
          stats.active -= 1;
        }
        client = null;
        const t0 = process.hrtime.bigint();
        try {
          client = await connect();
        } catch (err) {
          if (cut) break;
          stats.failed('CONNECT', err);
          await pause(Math.min(RECONNECT_PAUSE_MS, Math.max(0, deadline - Date.now())));
          continue;
        }
        stats.succeeded('CONNECT', elapsedMs(t0), 0);
        clients.add(client);
        stats.active += 1;
      }
      const missing = Date.now() < deadline ? [] : uncovered();
      const kind = missing.length > 0 ? coverOp(state, missing[0]) : pickOp(state);
      const t0 = process.hrtime.bigint();
      try {
        const outcome = await runOp(kind, client, state);
        stats.succeeded(outcome.name, elapsedMs(t0), outcome.bytes);
        ran.add(outcome.name);
      } catch (err) {
        if (cut) break;
        stats.failed(kind, err);
        ran.add(kind);
      }
    }
    if (client) {
      if (!cut) await client.quit();
      client.close();
      clients.delete(client);
      stats.active -= 1;
    }
  };

  await Promise.all(Array.from({ length: options.clients }, (_, i) => session(i)));
  const seconds = elapsedMs(started) / 1000;
  clearTimeout(hardStop);
  options.signal?.removeEventListener('abort', onAbort);
  ticker.stop();

  const cleanedUp = await cleanUp(setup, seeds.folder, connect);
  return {
    runId,
    host: options.host,
    port: options.port,
    clients: options.clients,
    seconds,
    ops: stats.ops,
    opsPerSec: stats.ops / seconds,
    bytes: stats.bytes,
    mbPerSec: stats.bytes / 1e6 / seconds,
    errors: stats.errors,
    integrityFailures: stats.integrityFailures,
    connectionFailures: stats.connectionFailures,
    commands: stats.rows(),
    errorSamples: stats.errorSamples(),
    cleanedUp,
  };
}

/** Every command the mix draws from. */
const MIX_KINDS = Object.keys(MIX_WEIGHTS) as OpKind[];

/** `wanted` if the session's folder allows it now, else the command that makes it possible. */
function coverOp(state: SessionState, wanted: OpKind): OpKind {
  if ((wanted === 'RENAME' || wanted === 'DELETE') && state.files.size === 0) return 'PUT';
  if (wanted === 'RMDIR' && state.dirs.size === 0) return 'MKDIR';
  return wanted;
}

/** Make the run folder, upload the seed files and one folder per session. */
async function seed(client: FtpClient, folder: string, options: StressOptions): Promise<SeedSet> {
  await client.mkdir(folder);
  const upload = async (name: string, size: number): Promise<SeedFile> => {
    const bytes = randomBytesOf(size);
    const digest = digestOf(bytes);
    const path = `${folder}/${name}`;
    await client.put(path, bufferSource(bytes), size, { sha256: digest.sha256 });
    return { path, digest };
  };
  const { smallMin, smallMax, large } = options.sizes;
  const small: SeedFile[] = [];
  for (let i = 0; i < options.seedSmall; i++) {
    // Spread the seeds over the whole small range, both ends included.
    const size = options.seedSmall === 1 ? smallMin : Math.round(smallMin + ((smallMax - smallMin) * i) / (options.seedSmall - 1));
    small.push(await upload(`small-${i}.bin`, size));
  }
  const largeFiles: SeedFile[] = [];
  for (let i = 0; i < options.seedLarge; i++) largeFiles.push(await upload(`large-${i}.bin`, large));
  for (let i = 0; i < options.clients; i++) await client.mkdir(`${folder}/c${i}`);
  return { folder, small, large: largeFiles };
}

/** Remove the run folder, depth first. Reconnects once if the setup session died meanwhile. */
async function cleanUp(setup: FtpClient, folder: string, connect: () => Promise<FtpClient>): Promise<boolean> {
  let client = setup;
  try {
    if (client.closed) client = await connect();
    await removeTree(client, folder);
    await client.quit();
    return true;
  } catch {
    client.close();
    return false;
  }
}

/** Delete a remote folder and everything in it. */
export async function removeTree(client: FtpClient, folder: string): Promise<void> {
  for (const entry of await client.list(folder)) {
    const path = `${folder}/${entry.name}`;
    if (entry.type === 'dir') await removeTree(client, path);
    else await client.delete(path);
  }
  await client.rmdir(folder);
}

/** The once-a-second line: rates over the last interval, totals so far. */
function startTicker(stats: StressStats, options: StressOptions, started: bigint): { stop(): void } {
  if (options.liveIntervalMs <= 0 || !options.onLive) return { stop() {} };
  let last = { at: process.hrtime.bigint(), ops: 0, bytes: 0 };
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    const secs = Number(now - last.at) / 1e9;
    const line = [
      `[${(elapsedMs(started) / 1000).toFixed(0).padStart(4)} s]`,
      `ops/s ${((stats.ops - last.ops) / secs).toFixed(0).padStart(6)}`,
      `MB/s ${((stats.bytes - last.bytes) / 1e6 / secs).toFixed(1).padStart(7)}`,
      `errors ${stats.errors}`,
      `integrity ${stats.integrityFailures}`,
      `active ${stats.active}/${options.clients}`,
    ].join('  ');
    last = { at: now, ops: stats.ops, bytes: stats.bytes };
    options.onLive?.(line);
  }, options.liveIntervalMs);
  return { stop: () => clearInterval(timer) };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
