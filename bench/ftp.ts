import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ContentDigest } from '../src/tools/integrity';
import { median } from '../src/tools/latency';
import { runFtpCrowd } from './ftp-crowd';
import type { ClientsResult } from './many-clients';
import { startVsftpd, type Vsftpd } from './peers';
import type { Measured } from './results';
import { PROJECT_ROOT, readCpuSeconds, readRssKiB } from './server-process';

/**
 * The FTP phase (issue 12): our FTP port against vsftpd in the same run.
 * A large RETR and STOR with curl (alternated run by run, after one
 * untimed of each), then a crowd of FTP clients at once against each (log
 * in, list, download a small file, quit), counting the lost ones. Both
 * servers run in processes of their own, with no per-address caps (every
 * client comes from 127.0.0.1).
 */

/** One server's RETR and STOR figures, 10^6 bytes/s. */
export interface FtpTransferFigures {
  label: string;
  retr: Measured;
  stor: Measured;
}

/** What the phase measured. */
export interface FtpBenchResult {
  bytes: number;
  smallBytes: number;
  ours: FtpTransferFigures;
  vsftpd?: FtpTransferFigures;
  /** Crowd runs per server (one entry per run). */
  crowd: { ours: ClientsResult[]; vsftpd?: ClientsResult[] };
  /** Why vsftpd is not measured, when it is not. */
  vsftpdSkipped?: string;
}

/** What the phase needs from the run. */
export interface FtpBenchInput {
  work: string;
  bigFile: string;
  bytes: number;
  small: Buffer;
  smallDigest: ContentDigest;
  runs: number;
  clients: number;
  timeoutMs: number;
  say: (line: string) => void;
}

/** Our FTP port in a child process. */
interface FtpChild {
  pid: number;
  port: number;
  rssKiB(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startFtpChild(root: string, maxConnections: number): Promise<FtpChild> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(PROJECT_ROOT, 'bench', 'ftp-child.ts'), root, String(maxConnections)],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let line = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the FTP port did not start within 60 s:\n${output}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      line += chunk.toString('utf8');
      const match = /FTP_PORT (\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the FTP port exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    pid: child.pid as number,
    port,
    rssKiB: () => readRssKiB(child.pid as number),
    cpuSeconds: () => readCpuSeconds(child.pid as number),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** curl once; its own `-w` timing, so process start-up is not counted. @returns 10^6 bytes/s. */
function curlRate(args: string[], bytes: number, field: 'size_download' | 'size_upload'): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--fail', '-w', `%{time_total} %{${field}}`, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${stderr.trim() || err.message}`));
      const [seconds, moved] = stdout.trim().split(/\s+/).map(Number);
      if (moved !== bytes) return reject(new Error(`curl moved ${moved} of ${bytes} bytes`));
      resolve(bytes / 1e6 / seconds);
    });
  });
}

/** One way to RETR and STOR the big file once. */
interface Contender {
  key: 'ours' | 'vsftpd';
  label: string;
  retr(): Promise<number>;
  stor(run: number): Promise<number>;
}

function ourContender(port: number, root: string, input: FtpBenchInput): Contender {
  const url = `ftp://bench:bench@127.0.0.1:${port}/pub`;
  return {
    key: 'ours',
    label: 'our FTP port, curl',
    retr: () => curlRate(['-o', '/dev/null', `${url}/big.bin`], input.bytes, 'size_download'),
    async stor(run) {
      const name = `up-${run}.bin`;
      try {
        return await curlRate(['-T', input.bigFile, `${url}/${name}`], input.bytes, 'size_upload');
      } finally {
        await fs.rm(path.join(root, 'pub', name), { force: true });
      }
    },
  };
}

function vsftpdContender(peer: Vsftpd, bigFile: string): Contender {
  return {
    key: 'vsftpd',
    label: `vsftpd, curl (${peer.version})`,
    retr: () => peer.download(),
    stor: (run) => peer.upload(bigFile, `up-${run}.bin`),
  };
}

/** Run the phase; see the module comment. */
export async function measureFtp(input: FtpBenchInput): Promise<FtpBenchResult> {
  const { work, say } = input;
  const root = path.join(work, 'ftp-root');
  await fs.mkdir(path.join(root, 'pub'), { recursive: true });
  await fs.link(input.bigFile, path.join(root, 'pub', 'big.bin')).catch(() => fs.copyFile(input.bigFile, path.join(root, 'pub', 'big.bin')));
  await fs.writeFile(path.join(root, 'pub', 'small.bin'), input.small);
  const ours = await startFtpChild(root, input.clients + 100);
  let peer: Vsftpd | string | undefined;
  try {
    const vsDir = path.join(work, 'ftp-vsftpd');
    await fs.mkdir(vsDir);
    // Unlimited clients per address and any passive port, as ours: vsftpd's
    // default of 50 per address (and the 500-port range the other phases
    // give it) would refuse the crowd, not measure it.
    peer = await startVsftpd(vsDir, input.bigFile, input.bytes, ['max_clients=0', 'max_per_ip=0', 'pasv_min_port=0', 'pasv_max_port=0']);
    if (typeof peer !== 'string') await fs.writeFile(path.join(peer.pub, 'small.bin'), input.small);
    const contenders = [ourContender(ours.port, root, input), ...(typeof peer === 'string' ? [] : [vsftpdContender(peer, input.bigFile)])];

    say(`ftp: ${input.runs} rounds of RETR and STOR of ${input.bytes} bytes with curl (${contenders.map((c) => c.key).join(', ')}), alternated, after one of each to warm up`);
    const rates = new Map(contenders.map((c) => [c.key, { retr: [] as number[], stor: [] as number[] }]));
    let run = 0;
    for (const c of contenders) {
      await c.retr();
      await c.stor(run++);
    }
    for (let round = 0; round < input.runs; round++) {
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
      for (const c of order) rates.get(c.key)!.retr.push(await c.retr());
      for (const c of order) rates.get(c.key)!.stor.push(await c.stor(run++));
      say(`ftp: round ${round + 1} of ${input.runs}: ${order.map((c) => `${c.key} RETR ${Math.round(rates.get(c.key)!.retr.at(-1)!)} STOR ${Math.round(rates.get(c.key)!.stor.at(-1)!)}`).join(', ')} MB/s`);
    }
    const figures = (c: Contender): FtpTransferFigures => {
      const r = rates.get(c.key)!;
      return { label: c.label, retr: { median: median(r.retr), runs: r.retr }, stor: { median: median(r.stor), runs: r.stor } };
    };

    say(`ftp: ${input.runs} rounds of ${input.clients} FTP clients at once (log in, list, RETR ${input.small.length} bytes, QUIT) against each`);
    const crowd: FtpBenchResult['crowd'] = { ours: [], ...(typeof peer === 'string' ? {} : { vsftpd: [] }) };
    for (let round = 0; round < input.runs; round++) {
      const ourRun = await runFtpCrowd({ port: ours.port, user: 'bench', password: 'bench', folder: '/pub', file: 'small.bin' }, input.smallDigest, input.clients, input.timeoutMs);
      crowd.ours.push(ourRun);
      let line = `ours ${ourRun.clients - ourRun.failures} served, ${ourRun.failures} lost in ${Math.round(ourRun.wallMs)} ms`;
      if (typeof peer !== 'string' && peer) {
        const theirs = await runFtpCrowd({ port: peer.port, user: 'anonymous', password: 'bench@', folder: '/pub', file: 'small.bin' }, input.smallDigest, input.clients, input.timeoutMs);
        crowd.vsftpd!.push(theirs);
        line += `; vsftpd ${theirs.clients - theirs.failures} served, ${theirs.failures} lost in ${Math.round(theirs.wallMs)} ms`;
      }
      say(`ftp: crowd ${round + 1} of ${input.runs}: ${line}`);
    }
    const vs = contenders.find((c) => c.key === 'vsftpd');
    return {
      bytes: input.bytes,
      smallBytes: input.small.length,
      ours: figures(contenders[0]),
      ...(vs ? { vsftpd: figures(vs) } : {}),
      crowd,
      ...(typeof peer === 'string' ? { vsftpdSkipped: peer } : {}),
    };
  } finally {
    await ours.stop();
    if (peer && typeof peer !== 'string') peer.stop();
  }
}
