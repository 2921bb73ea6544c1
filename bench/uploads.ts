import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { median } from '../src/tools/latency';
import { timedRawUpload } from './raw-transfers';
import type { Measured } from './results';
import { readCpuSeconds, type ServerProcess } from './server-process';
import { timedUpload, type TransferTarget } from './throughput';

/**
 * The uploads phase (issue 13): one large file written as a fresh file by
 * every contender, alternated run by run, so they all face the same machine
 * (other load, the state of free memory) and their ratios hold even when the
 * absolute figures move:
 *
 * - `dd` of the file to a fresh file on the same disk (the floor of what
 *   any upload must do: read it, write it);
 * - our server with a byte-moving client (as curl), and with the client
 *   library (which hashes and checks too);
 * - vsftpd's STOR with `curl -T`, when installed.
 *
 * Each written file is removed right after its run, the same for all, so no
 * contender reuses pages the others must take fresh.
 */

/** One way of uploading the file once. */
export interface UploadContender {
  key: string;
  label: string;
  /** Upload once as a fresh file named after `run`; remove it after. @returns 10^6 bytes per second. */
  once(run: number): Promise<number>;
  /** The server process's CPU seconds so far, when there is one to read. */
  cpuSeconds?(): number;
}

/** Figures of one contender. */
export interface UploadFigures extends Measured {
  label: string;
  /** Server CPU seconds per GiB moved (all threads), median of the timed runs; absent without a server process. */
  serverCpuSecPerGiB?: number;
}

/** What the phase measured. */
export interface UploadsResult {
  bytes: number;
  /** The order contenders ran in, for the first timed round (later rounds rotate it). */
  order: string[];
  figures: Record<string, UploadFigures>;
  /** Why vsftpd is not among them, when it is not. */
  vsftpdSkipped?: string;
  /** Our server's RSS growth (peak during the byte-moving uploads minus before them), KiB. */
  serverRssGrowthKiB?: number;
}

/**
 * Run every contender once untimed (warm-up), then `runs` timed rounds;
 * round `i` starts with contender `i mod n`, so none always goes first.
 */
export async function measureUploads(
  contenders: UploadContender[],
  runs: number,
  bytes: number,
  say: (line: string) => void,
): Promise<Record<string, UploadFigures>> {
  const rates = new Map<string, number[]>(contenders.map((c) => [c.key, []]));
  const cpu = new Map<string, number[]>(contenders.map((c) => [c.key, []]));
  let run = 0;
  for (const contender of contenders) await contender.once(run++);
  for (let round = 0; round < runs; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const contender of order) {
      const before = contender.cpuSeconds?.();
      const rate = await contender.once(run++);
      rates.get(contender.key)!.push(rate);
      if (before !== undefined) {
        // vsftpd's session process is counted once its listener has reaped it.
        await new Promise((resolve) => setTimeout(resolve, 200));
        cpu.get(contender.key)!.push(((contender.cpuSeconds!() - before) * 1024 ** 3) / bytes);
      }
    }
    say(`uploads: round ${round + 1} of ${runs}: ${order.map((c) => `${c.key} ${Math.round(rates.get(c.key)!.at(-1)!)}`).join(', ')} MB/s`);
  }
  const figures: Record<string, UploadFigures> = {};
  for (const contender of contenders) {
    const values = rates.get(contender.key)!;
    const cpuValues = cpu.get(contender.key)!.filter(Number.isFinite);
    figures[contender.key] = {
      label: contender.label,
      median: median(values),
      runs: values,
      ...(cpuValues.length > 0 ? { serverCpuSecPerGiB: median(cpuValues) } : {}),
    };
  }
  return figures;
}

/** `dd` of `file` to a fresh file in `dir`, removed after; its own reported rate. */
export function ddContender(file: string, dir: string, bytes: number): UploadContender {
  return {
    key: 'dd',
    label: 'dd of the same file to a fresh file (bs=1M)',
    once: async (run) => {
      const out = path.join(dir, `dd-${run}.bin`);
      try {
        const stderr = await new Promise<string>((resolve, reject) => {
          execFile('dd', [`if=${file}`, `of=${out}`, 'bs=1M'], { encoding: 'utf8' }, (err, _o, e) => (err ? reject(new Error(`dd failed: ${err.message}`)) : resolve(e)));
        });
        // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.7 s, 632 MB/s": take the seconds, not the rounded rate.
        const match = /(\d+) bytes .* copied, ([\d.]+) s/.exec(stderr);
        if (!match || Number(match[1]) !== bytes) throw new Error(`dd: unexpected output: ${stderr.trim()}`);
        return bytes / 1e6 / Number(match[2]);
      } finally {
        await fs.rm(out, { force: true });
      }
    },
  };
}

/** Our server, byte-moving client or client library, each upload a fresh name removed after. */
export function serverContender(
  key: string,
  label: string,
  server: ServerProcess,
  root: string,
  file: string,
  bytes: number,
  sha256: string,
  timeoutMs: number,
  client: 'raw' | 'library' | 'library-first',
): UploadContender {
  const target: TransferTarget = { port: server.port, timeoutMs };
  return {
    key,
    label,
    cpuSeconds: () => server.cpuSeconds(),
    once: async (run) => {
      const name = `${key}-${run}.bin`;
      try {
        return client === 'raw'
          ? await timedRawUpload(target, file, name, bytes, sha256)
          : await timedUpload(target, file, name, bytes, sha256, client === 'library');
      } finally {
        await fs.rm(path.join(root, name), { force: true });
      }
    },
  };
}

/**
 * vsftpd's STOR by `curl -T`. vsftpd forks per session and its transfer
 * process is not always reaped by the listener, so its CPU is read by
 * watching the listener's descendants in /proc while the upload runs (the
 * last few tens of ms of a process may be missed: a slight undercount).
 */
export function vsftpdContender(peer: { pid: number; version: string; upload(file: string, name: string): Promise<number> }, file: string): UploadContender {
  let cpu = 0;
  return {
    key: 'vsftpd',
    label: `vsftpd STOR, curl -T (${peer.version})`,
    cpuSeconds: () => cpu,
    once: async (run) => {
      const watch = watchTreeCpu(peer.pid, 25);
      try {
        return await peer.upload(file, `up-${run}.bin`);
      } finally {
        cpu += await watch.stop();
      }
    },
  };
}

/** Follow the CPU seconds used by the descendants of `root` (not `root` itself) until stopped. */
function watchTreeCpu(root: number, everyMs: number): { stop(): Promise<number> } {
  const seen = new Map<number, number>();
  const scan = async () => {
    let pids: number[];
    try {
      pids = (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    } catch {
      return;
    }
    const parents = new Map<number, number>();
    for (const pid of pids) {
      try {
        const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
        parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone already
      }
    }
    for (const pid of parents.keys()) {
      let up = parents.get(pid);
      for (let depth = 0; up !== undefined && up > 1 && depth < 8; depth++) {
        if (up === root) {
          // Own time only: a parent's count of reaped children would count them twice.
          const used = readCpuSeconds(pid, true);
          if (Number.isFinite(used)) seen.set(pid, Math.max(seen.get(pid) ?? 0, used));
          break;
        }
        up = parents.get(up);
      }
    }
  };
  let running = scan();
  const timer = setInterval(() => {
    running = running.then(scan);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      let total = 0;
      for (const used of seen.values()) total += used;
      return total;
    },
  };
}

/** Sample `server`'s RSS every `everyMs` while `work` runs: the peak growth over the reading before, KiB. */
export async function rssGrowthDuring<T>(server: ServerProcess, everyMs: number, work: () => Promise<T>): Promise<{ result: T; growthKiB: number }> {
  const before = server.rssKiB();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rssKiB());
  }, everyMs);
  try {
    const result = await work();
    return { result, growthKiB: peak - before };
  } finally {
    clearInterval(timer);
  }
}
