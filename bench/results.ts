import os from 'node:os';
import type { FtpBenchResult } from './ftp';
import type { IdleResult } from './idle-sessions';
import type { ClientsResult } from './many-clients';
import type { PeerResult } from './peers';
import type { S3Result } from './s3';
import type { ServerBuild } from './server-process';
import type { UploadsResult } from './uploads';

/**
 * The shape of `bench/results/<timestamp>.json`. Every rate is in 10^6
 * bytes (MB) per second; every figure is the median of `runs` runs, with the
 * single runs kept beside it so the spread is visible.
 */

/** A median and the runs it came from. */
export interface Measured {
  median: number;
  runs: number[];
}

/** A throughput, also as a fraction of both loopback figures of the same run. */
export interface Throughput extends Measured {
  ofLoopback128k: number;
  ofLoopback1m: number;
}

/** Medians over the runs of one batch of short sessions. */
export interface ClientsFigures {
  clients: number;
  concurrency: number;
  wallMs: number;
  clientsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Median failures per run, and the total over all runs. */
  failures: number;
  failuresTotal: number;
  failureRate: number;
  perRun: ClientsResult[];
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  release: string;
  /** Load averages (1, 5, 15 min) when the run started: a busy machine gives lower figures. */
  loadAverage: number[];
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  /** The command line that made this, for the docs. */
  command: string;
  machine: MachineInfo;
  server: ServerBuild & { logLevel: string };
  settings: Record<string, number | string | boolean | string[]>;
  loopback?: { bytes: number; write128k: Measured; write1m: Measured };
  sha256?: Measured;
  /**
   * `hashShareOfTime`: how long SHA-256 alone (one core) takes over the file,
   * as a fraction of the download's time: what hashing costs a transfer whose
   * hashing sits on its critical path.
   */
  download?: Throughput & { bytes: number; hashShareOfTime: number };
  /** Client library upload of a file uploaded before: its digest is remembered. */
  upload?: Throughput & { bytes: number };
  /** Client library upload that hashes the file first (a first upload). */
  uploadFirst?: Throughput & { bytes: number };
  /** The uploads phase: every contender alternated in the same run (dd, ours, vsftpd). */
  uploads?: UploadsResult;
  /** The same transfers with a client that moves bytes and nothing else (as curl does). */
  rawDownload?: Throughput & { bytes: number };
  rawUpload?: Throughput & { bytes: number };
  burst?: ClientsFigures;
  inFlight?: ClientsFigures;
  idle?: {
    sessions: number;
    /** Right after the sessions opened. */
    perSessionKiB: number;
    /** After they sat idle for `restMs`. */
    perSessionRestingKiB: number;
    restMs: number;
    baselineKiB: number;
    loadedKiB: number;
    perRun: IdleResult[];
  };
  gets?: { sizeBytes: number; count: number; sequential: Measured; pipelined: Measured & { depth: number } };
  peers?: { vsftpd: PeerResult };
  /** The S3 phase: through the server on --storage s3 and through the SDK directly, same endpoint, same run. */
  s3?: S3Result;
  /** The FTP port against vsftpd, same run: RETR/STOR with curl and a crowd of FTP clients. */
  ftp?: FtpBenchResult;
}

/** The machine, from `os`. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    release: os.release(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}
