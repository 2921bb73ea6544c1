import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FtpClient } from '../src/client/ftp-client';
import { encodeFrame } from '../src/protocol/frame-encoder';
import { elapsedMs, summarise, type LatencySummary } from '../src/tools/latency';
import { PROJECT_ROOT, startServerProcess } from './server-process';

/**
 * `node -r ts-node/register/transpile-only bench/crowd.ts [--idle N] [--seconds S] [--json]`
 *
 * The figures that tests must not assert as wall-clock limits (they flake on
 * a busy machine, so the tests check order and wide bounds instead):
 *
 * - LS round trips on one session, quiet, then beside N idle sessions and two
 *   slow-loris clients trickling a frame a byte a second, and a newcomer's
 *   connect + greeting + LS in that crowd (`__tests__/security/slow-clients.test.ts`);
 * - the server's CPU, as a share of one core, while that crowd sits idle, and
 *   while it is out of file descriptors under `ulimit -n 64` with connections
 *   still queued (`__tests__/cli/descriptors.test.ts`). A busy-looping accept
 *   shows as ~100 %.
 *
 * The server runs in a child process (`bin/ftp-server.js`, `dist/` when
 * built). Run it on a quiet machine; the figures are for that machine only.
 */

/** Files in the listed folder, as in the test. */
const FILES = 40;
const TIMEOUT_MS = 30_000;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export interface CrowdResult {
  idleSessions: number;
  quietLs: LatencySummary;
  crowdLs: LatencySummary;
  newcomer: LatencySummary;
  /** Server CPU while the crowd sits idle, % of one core. */
  idleCpuPercent: number;
  /** Server CPU while out of descriptors with connections queued, % of one core. */
  outOfDescriptorsCpuPercent: number;
}

/** CPU time (user + system) of a process so far, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The share of one core `pid` uses over `ms` of wall time, in %. */
async function cpuPercent(pid: number, ms: number): Promise<number> {
  const start = process.hrtime.bigint();
  const before = cpuSeconds(pid);
  await pause(ms);
  return ((cpuSeconds(pid) - before) / (elapsedMs(start) / 1000)) * 100;
}

async function timedList(client: FtpClient): Promise<number> {
  const start = process.hrtime.bigint();
  const entries = await client.list('/');
  if (entries.length !== FILES) throw new Error(`LS listed ${entries.length} entries, expected ${FILES}`);
  return elapsedMs(start);
}

/** A client that is greeted, then sends an LS frame a byte a second and never its last byte. */
async function startLoris(port: number): Promise<{ stop(): void }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
  });
  const frame = encodeFrame({ type: 'command', command: 'LS', path: '/' });
  let sent = 0;
  const trickle = () => {
    if (sent < frame.length - 1) socket.write(frame.subarray(sent, ++sent));
  };
  trickle();
  const timer = setInterval(trickle, 1_000);
  return {
    stop() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** LS latency and idle CPU beside `idle` idle sessions and two slow-loris clients. */
async function measureCrowd(work: string, idle: number, seconds: number): Promise<Omit<CrowdResult, 'outOfDescriptorsCpuPercent'>> {
  const root = path.join(work, 'root');
  await fs.mkdir(root);
  for (let i = 0; i < FILES; i++) await fs.writeFile(path.join(root, `file-${String(i).padStart(2, '0')}.txt`), 'x'.repeat(i));
  const server = await startServerProcess({ root, logDir: path.join(work, 'logs'), maxConnections: idle + 50, logLevel: 'warn' });
  const held: FtpClient[] = [];
  const lorises: Array<{ stop(): void }> = [];
  try {
    const connect = () => FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: TIMEOUT_MS });
    const normal = await connect();
    held.push(normal);
    const quiet: number[] = [];
    for (let i = 0; i < 50; i++) quiet.push(await timedList(normal));

    while (held.length < idle + 1) {
      const batch = Math.min(50, idle + 1 - held.length);
      held.push(...(await Promise.all(Array.from({ length: batch }, connect))));
    }
    lorises.push(await startLoris(server.port), await startLoris(server.port));

    const crowd: number[] = [];
    const newcomer: number[] = [];
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      crowd.push(await timedList(normal));
      const start = process.hrtime.bigint();
      const fresh = await connect();
      await fresh.list('/');
      newcomer.push(elapsedMs(start));
      fresh.close();
      await pause(100);
    }
    const idleCpuPercent = await cpuPercent(server.pid, seconds * 1000);
    return { idleSessions: idle, quietLs: summarise(quiet), crowdLs: summarise(crowd), newcomer: summarise(newcomer), idleCpuPercent };
  } finally {
    for (const loris of lorises) loris.stop();
    for (const client of held) client.close();
    await server.stop();
  }
}

/** Server CPU under `ulimit -n 64` once connections are refused for want of descriptors. */
async function measureOutOfDescriptors(work: string, seconds: number): Promise<number> {
  const dir = path.join(work, 'emfile');
  await fs.mkdir(dir);
  const args = [process.execPath, path.join(PROJECT_ROOT, 'bin', 'ftp-server.js'), '--host', '127.0.0.1', '--port', '0',
    '--root', 'files', '--log-dir', 'logs', '--rate-limit', '0', '--max-connections-per-ip', '500'];
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // bash execs node, so the PID is the server's.
  const child = spawn('bash', ['-c', `ulimit -n 64 && exec ${quoted}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sockets: net.Socket[] = [];
  try {
    const deadline = Date.now() + 30_000;
    let port = 0;
    while (port === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the limited server did not start:\n${output}`);
      port = Number(/FTP Server listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? 0);
      if (port === 0) await pause(100);
    }
    let refused = 0;
    for (let i = 0; i < 200 && refused < 5; i++) {
      const { socket, greeted } = await knock(port);
      sockets.push(socket);
      if (!greeted) refused += 1;
    }
    if (refused < 5) throw new Error('the limited server never ran out of descriptors');
    await pause(300);
    return await cpuPercent(child.pid as number, seconds * 1000);
  } finally {
    for (const socket of sockets) socket.destroy();
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Open a socket; `greeted` is true when a 200 greeting arrives within 1.5 s. */
function knock(port: number): Promise<{ socket: net.Socket; greeted: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (greeted: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ socket, greeted });
    };
    const timer = setTimeout(() => finish(false), 1_500);
    socket.once('data', (chunk: Buffer) => finish(/"code":200/.test(chunk.toString('utf8'))));
    socket.once('close', () => finish(false));
    socket.on('error', () => finish(false));
  });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run both measurements in a fresh temp folder, removed at the end. */
export async function runCrowd(idle: number, seconds: number): Promise<CrowdResult> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-crowd-'));
  try {
    const crowd = await measureCrowd(work, idle, seconds);
    const outOfDescriptorsCpuPercent = await measureOutOfDescriptors(work, seconds);
    return { ...crowd, outOfDescriptorsCpuPercent };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function table(result: CrowdResult): string {
  const ms = (s: LatencySummary) => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(2)} ms (${s.count})`;
  return [
    `| figure | value |`,
    `|---|---|`,
    `| LS, quiet | ${ms(result.quietLs)} |`,
    `| LS beside ${result.idleSessions} idle + 2 slow-loris | ${ms(result.crowdLs)} |`,
    `| newcomer connect + greeting + LS, same crowd | ${ms(result.newcomer)} |`,
    `| server CPU, crowd idle | ${result.idleCpuPercent.toFixed(1)} % of a core |`,
    `| server CPU, out of descriptors (ulimit -n 64) | ${result.outOfDescriptorsCpuPercent.toFixed(1)} % of a core |`,
  ].join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (name: string, fallback: number) => {
    const at = argv.indexOf(name);
    const parsed = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!(Number.isInteger(parsed) && parsed > 0)) throw new Error(`${name} must be a positive whole number`);
    return parsed;
  };
  runCrowd(value('--idle', 300), value('--seconds', 4)).then(
    (result) => process.stdout.write(`${argv.includes('--json') ? JSON.stringify(result, null, 2) : table(result)}\n`),
    (err) => {
      process.stderr.write(`crowd: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
