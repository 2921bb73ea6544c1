import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { median } from '../src/tools/latency';
import { freePort } from './server-process';

/**
 * Optional comparison: vsftpd serving the same file over FTP on 127.0.0.1,
 * fetched and sent by curl, in the same run as our figures. Skipped (with
 * the reason recorded) when either program is missing or vsftpd will not start.
 */

/** Figures of one peer, or why there are none. */
export type PeerResult =
  | { skipped: string }
  | { name: string; version: string; downloadMbPerSec: number; downloadRuns: number[] };

function which(program: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}

/** Run curl once; `-w` reports its own transfer time, so process start-up is not counted. */
function curl(args: string[]): Promise<{ seconds: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--fail', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`curl failed: ${stderr.trim() || err.message}`));
        return;
      }
      const [seconds, bytes] = stdout.trim().split(/\s+/).map(Number);
      resolve({ seconds, bytes });
    });
  });
}

/** Wait until an FTP server on `port` sends its `220` banner. */
async function waitForBanner(port: number, deadlineMs: number): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const done = (value: boolean) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('220')));
      socket.once('error', () => done(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function vsftpdConfig(root: string, empty: string, port: number, pasvBase: number, extra: readonly string[]): string {
  const lines = [
    'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
    'anonymous_enable=YES', 'local_enable=NO', 'no_anon_password=YES', `anon_root=${root}`,
    'write_enable=YES', 'anon_upload_enable=YES', 'anon_other_write_enable=YES', 'anon_world_readable_only=NO',
    'pasv_enable=YES', 'pasv_address=127.0.0.1', `pasv_min_port=${pasvBase}`, `pasv_max_port=${pasvBase + 500}`,
    'connect_from_port_20=NO', 'seccomp_sandbox=NO', 'xferlog_enable=NO', 'dirmessage_enable=NO',
    `secure_chroot_dir=${empty}`,
    ...extra,
  ];
  // Without root vsftpd cannot switch to the `ftp` user; it can still serve as whoever started it.
  if (process.getuid?.() !== 0) lines.push('run_as_launching_user=YES');
  return `${lines.join('\n')}\n`;
}

/** A running vsftpd serving `pub/` of its own folder to anonymous curl. */
export interface Vsftpd {
  version: string;
  pid: number;
  port: number;
  /** Folder uploads land in. */
  pub: string;
  /** Fetch `pub/big.bin` to /dev/null. @returns 10^6 bytes per second. */
  download(): Promise<number>;
  /** `curl -T file` as `pub/name`, then remove it. @returns 10^6 bytes per second. */
  upload(file: string, name: string): Promise<number>;
  stop(): void;
}

/**
 * Start vsftpd on a free port over a fresh `workDir`, serving `bigFile` as
 * `pub/big.bin`; the reason as a string when it cannot run here. `extra`:
 * more vsftpd.conf lines (the FTP phase lifts its per-address caps).
 */
export async function startVsftpd(workDir: string, bigFile: string, size: number, extra: readonly string[] = []): Promise<Vsftpd | string> {
  const vsftpd = which('vsftpd');
  if (!vsftpd) return 'vsftpd is not installed (apt-get install -y vsftpd)';
  if (!which('curl')) return 'curl is not installed';
  // vsftpd prints its version on file descriptor 0, hence the redirection.
  const version = (spawnSync('sh', ['-c', `'${vsftpd}' -v 0>&1`], { encoding: 'utf8' }).stdout || '').trim() || 'vsftpd';

  // vsftpd refuses a chroot root it can write to, so uploads go to a world-writable pub/ below it.
  const root = path.join(workDir, 'ftp');
  const pub = path.join(root, 'pub');
  const empty = path.join(workDir, 'empty');
  await fs.mkdir(pub, { recursive: true });
  await fs.mkdir(empty, { recursive: true });
  await fs.chmod(root, 0o755);
  await fs.chmod(pub, 0o777);
  const served = path.join(pub, 'big.bin');
  await fs.link(bigFile, served).catch(() => fs.copyFile(bigFile, served));
  await fs.chmod(served, 0o644);

  const port = await freePort();
  const config = path.join(workDir, 'vsftpd.conf');
  await fs.writeFile(config, vsftpdConfig(root, empty, port, 20_000 + Math.floor(Math.random() * 9_000), extra));
  const child = spawn(vsftpd, [config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  if (!(await waitForBanner(port, Date.now() + 10_000))) {
    child.kill('SIGTERM');
    return `vsftpd did not start: ${output.trim() || 'no banner'}`;
  }
  const url = `ftp://127.0.0.1:${port}/pub`;
  const rate = (r: { seconds: number; bytes: number }) => {
    if (r.bytes !== size) throw new Error(`curl moved ${r.bytes} of ${size} bytes`);
    return size / 1e6 / r.seconds;
  };
  return {
    version,
    pid: child.pid as number,
    port,
    pub,
    download: async () => rate(await curl(['-o', '/dev/null', '-w', '%{time_total} %{size_download}', `${url}/big.bin`])),
    // Anonymous FTP cannot overwrite, so every upload needs a name of its own; removed after.
    upload: async (file, name) => {
      try {
        return rate(await curl(['-T', file, '-w', '%{time_total} %{size_upload}', `${url}/${name}`]));
      } finally {
        await fs.rm(path.join(pub, name), { force: true });
      }
    },
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}

/**
 * Measure vsftpd + curl downloads: `runs` of `bigFile`, after one untimed
 * warm-up. Uploads are measured in the uploads phase, alternated with ours.
 * `workDir` is a fresh temp folder.
 */
export async function measureVsftpd(workDir: string, bigFile: string, size: number, runs: number): Promise<PeerResult> {
  const peer = await startVsftpd(workDir, bigFile, size);
  if (typeof peer === 'string') return { skipped: peer };
  try {
    await peer.download();
    const downloadRuns: number[] = [];
    for (let i = 0; i < runs; i++) downloadRuns.push(await peer.download());
    return { name: 'vsftpd + curl', version: peer.version, downloadMbPerSec: median(downloadRuns), downloadRuns };
  } catch (err) {
    return { skipped: `vsftpd run failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    peer.stop();
  }
}
