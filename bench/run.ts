import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { digestOf, randomBytesOf } from '../src/tools/integrity';
import { median } from '../src/tools/latency';
import { measureIdleSessions } from './idle-sessions';
import { timedRawDownload } from './raw-transfers';
import { measureLoopback, startLoopbackSink } from './loopback';
import { runClients, type ClientsResult } from './many-clients';
import { measureFtp } from './ftp';
import { measureVsftpd, startVsftpd } from './peers';
import { machineInfo, type BenchResult, type ClientsFigures, type Measured } from './results';
import { openFileLimits, serverBuild, startServerProcess, type ServerProcess } from './server-process';
import { pipelinedGets, sequentialGets } from './small-gets';
import { hashFile, timedDownload, writeRandomFile } from './throughput';
import { measureS3 } from './s3';
import { ddContender, measureUploads, rssGrowthDuring, serverContender, vsftpdContender, type UploadContender } from './uploads';

/** The parts of a run; `--skip` leaves some out. */
export const PHASES = ['loopback', 'throughput', 'uploads', 'ftp', 'clients', 'gets', 'idle', 's3'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchSettings {
  runs: number;
  fileSize: number;
  loopbackBytes: number;
  burstClients: number;
  inFlight: number;
  inFlightClients: number;
  smallFileSize: number;
  idleSessions: number;
  /** How long idle sessions rest before the second memory reading, ms. */
  idleRestMs: number;
  gets: number;
  getSize: number;
  pipelineDepth: number;
  peers: boolean;
  /** Upload to vsftpd too (in the uploads phase) when it is installed. */
  vsftpdUploads: boolean;
  /** Another checkout (built) whose server also takes the uploads, alternated with this one: before/after in one run. */
  compareRoot?: string;
  skip: Phase[];
  timeoutMs: number;
  serverLogLevel: string;
  /** Bytes per transfer of the S3 phase. */
  s3FileSize: number;
  /** Rounds of the S3 phase (each moves the file four times through a slow test endpoint). */
  s3Runs: number;
  /** An S3 endpoint and bucket of your own; absent: s3rver in a child process. */
  s3Endpoint?: string;
  s3Bucket?: string;
}

/** Full-size defaults: the figures the issue asks for. */
export const FULL_SETTINGS: Readonly<BenchSettings> = Object.freeze({
  runs: 5,
  fileSize: 1024 ** 3,
  loopbackBytes: 1024 ** 3,
  burstClients: 1000,
  inFlight: 25,
  inFlightClients: 1000,
  smallFileSize: 64 * 1024,
  idleSessions: 10_000,
  idleRestMs: 20_000,
  gets: 10_000,
  getSize: 4 * 1024,
  pipelineDepth: 16,
  peers: false,
  vsftpdUploads: true,
  skip: [],
  timeoutMs: 30_000,
  serverLogLevel: 'warn',
  s3FileSize: 2 * 1024 ** 3,
  s3Runs: 3,
});

/** `--quick`: every phase, tiny sizes, one run: proves the tool works in seconds, measures nothing. */
export const QUICK_SETTINGS: Readonly<BenchSettings> = Object.freeze({
  ...FULL_SETTINGS,
  runs: 1,
  fileSize: 4 * 1024 ** 2,
  loopbackBytes: 4 * 1024 ** 2,
  burstClients: 20,
  inFlight: 5,
  inFlightClients: 20,
  idleSessions: 50,
  idleRestMs: 0,
  gets: 200,
  // Past one 8 MiB part, so the multipart path is what runs.
  s3FileSize: 12 * 1024 ** 2,
  s3Runs: 1,
});

/** Open files this process needs beyond the idle sessions themselves. */
const FD_HEADROOM = 256;

function measured(runs: number[]): Measured {
  return { median: median(runs), runs };
}

function clientsFigures(perRun: ClientsResult[]): ClientsFigures {
  const pick = (f: (r: ClientsResult) => number) => median(perRun.map(f));
  const failuresTotal = perRun.reduce((sum, r) => sum + r.failures, 0);
  return {
    clients: perRun[0].clients,
    concurrency: perRun[0].concurrency,
    wallMs: pick((r) => r.wallMs),
    clientsPerSec: pick((r) => r.clientsPerSec),
    p50Ms: pick((r) => r.p50Ms),
    p99Ms: pick((r) => r.p99Ms),
    failures: pick((r) => r.failures),
    failuresTotal,
    failureRate: failuresTotal / perRun.reduce((sum, r) => sum + r.clients, 0),
    perRun,
  };
}

/**
 * Run every phase not skipped and return the figures. Temp files live in a
 * fresh folder under `os.tmpdir()`, removed at the end whatever happens.
 * `say` gets a line of progress now and then.
 */
export async function runBench(settings: BenchSettings, command: string, say: (line: string) => void): Promise<BenchResult> {
  const runs = (phase: Phase) => !settings.skip.includes(phase);
  if (runs('idle')) {
    const need = settings.idleSessions + FD_HEADROOM;
    const { soft, hard } = openFileLimits();
    if (soft < need) {
      throw new Error(
        `${settings.idleSessions} idle sessions need ${need} open files in this process, but its limit is ${soft} (hard limit ${hard}). ` +
          `Raise it first (bash: ulimit -n ${Math.min(Math.max(need, 65_536), hard)}), or pass --idle ${Math.max(1, soft - FD_HEADROOM)}, or --skip idle.`,
      );
    }
  }
  const build = serverBuild();
  if (build.stale) say('warning: dist/ is older than src/; run `npm run build` first or the figures are of old code');

  const result: BenchResult = {
    version: 1,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command,
    machine: machineInfo(),
    server: { ...build, logLevel: settings.serverLogLevel },
    settings: { ...settings },
  };
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-bench-'));
  const root = path.join(work, 'root');
  const logDir = path.join(work, 'logs');
  await fs.mkdir(root);
  const startServer = (maxConnections: number) =>
    startServerProcess({ root, logDir, maxConnections, logLevel: settings.serverLogLevel });
  let server: ServerProcess | null = null;
  try {
    if (runs('loopback')) {
      say(`loopback: ${settings.runs} × ${settings.loopbackBytes} bytes with 128 KiB and 1 MiB writes`);
      const sink = await startLoopbackSink();
      try {
        const series = async (write: number) => {
          await measureLoopback(sink.port, Math.min(settings.loopbackBytes, 64 * 1024 ** 2), write);
          const values: number[] = [];
          for (let i = 0; i < settings.runs; i++) values.push(await measureLoopback(sink.port, settings.loopbackBytes, write));
          return measured(values);
        };
        result.loopback = { bytes: settings.loopbackBytes, write128k: await series(128 * 1024), write1m: await series(1024 * 1024) };
      } finally {
        sink.stop();
      }
    }
    const of = (mbPerSec: number) => ({
      ofLoopback128k: result.loopback ? mbPerSec / result.loopback.write128k.median : Number.NaN,
      ofLoopback1m: result.loopback ? mbPerSec / result.loopback.write1m.median : Number.NaN,
    });

    const bigFile = path.join(root, 'big.bin');
    let bigSha = '';
    if (runs('throughput')) {
      say(`throughput: writing a ${settings.fileSize}-byte file`);
      await writeRandomFile(bigFile, settings.fileSize);
      const hashes: number[] = [];
      for (let i = 0; i < settings.runs; i++) {
        const pass = await hashFile(bigFile);
        bigSha = pass.sha256;
        hashes.push(pass.mbPerSec);
      }
      result.sha256 = measured(hashes);
    }

    const small = randomBytesOf(settings.smallFileSize);
    const smallDigest = digestOf(small);
    await fs.writeFile(path.join(root, 'small.bin'), small);
    const getBytes = randomBytesOf(settings.getSize);
    const getDigest = digestOf(getBytes);
    await fs.writeFile(path.join(root, 'get.bin'), getBytes);

    server = await startServer(Math.max(2000, settings.burstClients + 100));
    const port = server.port;
    if (runs('throughput')) {
      const target = { port, timeoutMs: settings.timeoutMs };
      say(`throughput: ${settings.runs} downloads (after one to warm up)`);
      await timedDownload(target, 'big.bin', settings.fileSize, bigSha);
      const downloads: number[] = [];
      for (let i = 0; i < settings.runs; i++) downloads.push(await timedDownload(target, 'big.bin', settings.fileSize, bigSha));
      // The same, with a client that only moves bytes (like curl against vsftpd).
      const rawDownloads: number[] = [];
      for (let i = 0; i < settings.runs; i++) rawDownloads.push(await timedRawDownload(target, 'big.bin', settings.fileSize, bigSha));
      const rawDown = measured(rawDownloads);
      result.rawDownload = { ...rawDown, ...of(rawDown.median), bytes: settings.fileSize };
      const down = measured(downloads);
      result.download = {
        ...down,
        ...of(down.median),
        bytes: settings.fileSize,
        hashShareOfTime: result.sha256 ? down.median / result.sha256.median : Number.NaN,
      };
    }

    if (runs('uploads')) {
      if (!bigSha) {
        say(`uploads: writing a ${settings.fileSize}-byte file`);
        await writeRandomFile(bigFile, settings.fileSize);
        bigSha = (await hashFile(bigFile)).sha256;
      }
      // A fresh server of its own, like the compared one and vsftpd: what an
      // earlier phase left in a server's heap was measured to cost uploads
      // CPU (a server that had served the downloads needed 3.7 instead of
      // 2.9 s per GiB), which would tilt the comparison.
      const uploadRoot = path.join(work, 'upload-root');
      await fs.mkdir(uploadRoot);
      const ours = await startServerProcess({
        root: uploadRoot, logDir: path.join(work, 'upload-logs'), maxConnections: 100, logLevel: settings.serverLogLevel,
      });
      const contenders: UploadContender[] = [
        ddContender(bigFile, uploadRoot, settings.fileSize),
        serverContender('raw', 'our server, byte-moving client (as curl)', ours, uploadRoot, bigFile, settings.fileSize, bigSha, settings.timeoutMs, 'raw'),
        serverContender('library', 'our server, client library, file uploaded before (digest remembered)', ours, uploadRoot, bigFile, settings.fileSize, bigSha, settings.timeoutMs, 'library'),
        serverContender('library-first', 'our server, client library, digest not remembered (hashes the file first)', ours, uploadRoot, bigFile, settings.fileSize, bigSha, settings.timeoutMs, 'library-first'),
      ];
      let compare: ServerProcess | null = null;
      let peer: Awaited<ReturnType<typeof startVsftpd>> | null = null;
      try {
        if (settings.compareRoot) {
          const compareRootDir = path.join(work, 'compare-root');
          await fs.mkdir(compareRootDir);
          compare = await startServerProcess({
            root: compareRootDir, logDir: path.join(work, 'compare-logs'), maxConnections: 100,
            logLevel: settings.serverLogLevel, projectRoot: settings.compareRoot,
          });
          contenders.push(
            serverContender('raw-compare', `server of ${settings.compareRoot}, byte-moving client`, compare, compareRootDir, bigFile, settings.fileSize, bigSha, settings.timeoutMs, 'raw'),
          );
        }
        let vsftpdSkipped: string | undefined;
        if (settings.vsftpdUploads) {
          const peerDir = path.join(work, 'vsftpd-uploads');
          await fs.mkdir(peerDir);
          peer = await startVsftpd(peerDir, bigFile, settings.fileSize);
          if (typeof peer === 'string') vsftpdSkipped = peer;
          else contenders.push(vsftpdContender(peer, bigFile));
        } else {
          vsftpdSkipped = 'not asked for (--no-vsftpd-uploads)';
        }
        say(`uploads: ${settings.runs} rounds of ${contenders.map((c) => c.key).join(', ')}, alternated, after one of each to warm up`);
        const measuredUploads = await rssGrowthDuring(ours, 100, () => measureUploads(contenders, settings.runs, settings.fileSize, say));
        const figures = measuredUploads.result;
        result.uploads = {
          bytes: settings.fileSize,
          order: contenders.map((c) => c.key),
          figures,
          ...(vsftpdSkipped === undefined ? {} : { vsftpdSkipped }),
          serverRssGrowthKiB: measuredUploads.growthKiB,
        };
        result.rawUpload = { ...figures.raw, ...of(figures.raw.median), bytes: settings.fileSize };
        result.upload = { ...figures.library, ...of(figures.library.median), bytes: settings.fileSize };
        result.uploadFirst = { ...figures['library-first'], ...of(figures['library-first'].median), bytes: settings.fileSize };
      } finally {
        await ours.stop();
        await compare?.stop();
        if (peer && typeof peer !== 'string') peer.stop();
      }
    }

    if (runs('ftp')) {
      if (!bigSha) {
        say(`ftp: writing a ${settings.fileSize}-byte file`);
        await writeRandomFile(bigFile, settings.fileSize);
        bigSha = (await hashFile(bigFile)).sha256;
      }
      result.ftp = await measureFtp({
        work, bigFile, bytes: settings.fileSize, small, smallDigest,
        runs: settings.runs, clients: settings.burstClients, timeoutMs: settings.timeoutMs, say,
      });
    }

    if (runs('clients')) {
      say(`clients: ${settings.runs} × ${settings.burstClients} at once, then ${settings.inFlightClients} with ${settings.inFlight} in flight`);
      const batch = async (clients: number, concurrency: number) => {
        const perRun: ClientsResult[] = [];
        for (let i = 0; i < settings.runs; i++) {
          perRun.push(await runClients(port, 'small.bin', smallDigest, clients, concurrency, settings.timeoutMs));
        }
        return clientsFigures(perRun);
      };
      result.burst = await batch(settings.burstClients, settings.burstClients);
      result.inFlight = await batch(settings.inFlightClients, settings.inFlight);
    }

    if (runs('gets')) {
      say(`gets: ${settings.runs} × ${settings.gets} GETs of ${settings.getSize} bytes, sequential then pipelined ${settings.pipelineDepth} deep`);
      const sequential: number[] = [];
      const pipelined: number[] = [];
      for (let i = 0; i < settings.runs; i++) sequential.push(await sequentialGets(port, 'get.bin', getDigest, settings.gets, settings.timeoutMs));
      for (let i = 0; i < settings.runs; i++) {
        pipelined.push(await pipelinedGets(port, 'get.bin', getDigest, settings.gets, settings.pipelineDepth, settings.timeoutMs));
      }
      result.gets = {
        sizeBytes: settings.getSize,
        count: settings.gets,
        sequential: measured(sequential),
        pipelined: { ...measured(pipelined), depth: settings.pipelineDepth },
      };
    }
    await server.stop();
    server = null;

    if (runs('idle')) {
      say(`idle: ${settings.runs} × ${settings.idleSessions} idle sessions, a fresh server each time`);
      const perRun = [];
      for (let i = 0; i < settings.runs; i++) {
        server = await startServer(settings.idleSessions + 100);
        perRun.push(await measureIdleSessions(server, settings.idleSessions, settings.timeoutMs, settings.idleRestMs));
        await server.stop();
        server = null;
      }
      result.idle = {
        sessions: settings.idleSessions,
        perSessionKiB: median(perRun.map((r) => r.perSessionKiB)),
        perSessionRestingKiB: median(perRun.map((r) => r.perSessionRestingKiB)),
        restMs: settings.idleRestMs,
        baselineKiB: median(perRun.map((r) => r.baselineKiB)),
        loadedKiB: median(perRun.map((r) => r.loadedKiB)),
        perRun,
      };
    }

    if (runs('s3')) {
      say(`s3: ${settings.s3Runs} × ${settings.s3FileSize} bytes up and down through the server on S3 and through the SDK directly`);
      result.s3 = await measureS3(
        {
          bytes: settings.s3FileSize, runs: settings.s3Runs, work, timeoutMs: Math.max(settings.timeoutMs, 120_000),
          logLevel: settings.serverLogLevel, region: 'us-east-1',
          ...(settings.s3Endpoint !== undefined ? { endpoint: settings.s3Endpoint, bucket: settings.s3Bucket } : {}),
        },
        say,
      );
    }

    if (settings.peers) {
      say('peers: vsftpd + curl on the same file');
      if (!bigSha) await writeRandomFile(bigFile, settings.fileSize);
      const peerDir = path.join(work, 'vsftpd');
      await fs.mkdir(peerDir);
      result.peers = { vsftpd: await measureVsftpd(peerDir, bigFile, settings.fileSize, settings.runs) };
    }
  } finally {
    await server?.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  result.finishedAt = new Date().toISOString();
  return result;
}
