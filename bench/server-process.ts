import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The server under test runs in a child process, started through the same
 * `bin/ftp-server.js` a user runs, so its memory can be read from
 * `/proc/<pid>/status` and its CPU is not shared with the clients' event loop.
 */

export const PROJECT_ROOT = path.resolve(__dirname, '..');
const SERVER_BIN = path.join(PROJECT_ROOT, 'bin', 'ftp-server.js');
const COMPILED_CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'server-cli.js');

/** Which code the child runs: the compiled `dist/` (and whether it is older than `src/`) or ts-node. */
export interface ServerBuild {
  kind: 'dist' | 'ts-node';
  /** True when a file in `src/` is newer than `dist/`: the figures would be of old code. */
  stale: boolean;
}

/** What {@link startServerProcess} needs. */
export interface ServerProcessOptions {
  root: string;
  logDir: string;
  /** Connections at once, total and per IP (the bench comes from one IP). */
  maxConnections: number;
  logLevel: string;
  /** Another checkout to run the server from (its `bin/ftp-server.js`), to compare two builds in one run. */
  projectRoot?: string;
  /** Extra options for `node` itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Extra server options (e.g. `--storage s3 …`). */
  extraArgs?: string[];
  /** Variables added to this process's environment for the child (e.g. S3 credentials). */
  env?: NodeJS.ProcessEnv;
}

export interface ServerProcess {
  pid: number;
  port: number;
  /** Resident memory of the server process now, in KiB (`NaN` where /proc is missing). */
  rssKiB(): number;
  /** CPU time the server process (all its threads) has used so far, in seconds (`NaN` where /proc is missing). */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/** How the child would run now. */
export function serverBuild(): ServerBuild {
  if (!fs.existsSync(COMPILED_CLI)) return { kind: 'ts-node', stale: false };
  const built = fs.statSync(COMPILED_CLI).mtimeMs;
  return { kind: 'dist', stale: newestMtime(path.join(PROJECT_ROOT, 'src')) > built };
}

/** Folders of `src/` the server never loads: editing them does not make its build stale. */
const NOT_SERVER = new Set(['tools', 'client']);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!NOT_SERVER.has(entry.name)) newest = Math.max(newest, newestMtime(full));
    } else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** A port free right now on 127.0.0.1 (the child may lose a race for it; start retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resident set size of `pid` in KiB, from `/proc/<pid>/status`. */
export function readRssKiB(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/**
 * CPU seconds `pid` has used (user + system, all threads), from
 * `/proc/<pid>/stat`, with those of the children it has waited for unless
 * `ownOnly`; `NaN` where /proc is missing.
 */
export function readCpuSeconds(pid: number, ownOnly = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]];
    return (utime + stime + (ownOnly ? 0 : cutime + cstime)) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** This process's open-file limits, from `/proc/self/limits` (`Infinity` when unknown or unlimited). */
export function openFileLimits(): { soft: number; hard: number } {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    if (!match) return { soft: Infinity, hard: Infinity };
    const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: value(match[1]), hard: value(match[2]) };
  } catch {
    return { soft: Infinity, hard: Infinity };
  }
}

/** Start the server and resolve once it accepts connections. Retries on a lost port race. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(options: ServerProcessOptions, port: number): Promise<ServerProcess> {
  const limit = String(options.maxConnections);
  const bin = options.projectRoot ? path.join(options.projectRoot, 'bin', 'ftp-server.js') : SERVER_BIN;
  const args = [
    ...(options.nodeArgs ?? []), bin, '--host', '127.0.0.1', '--port', String(port), '--root', options.root,
    '--log-dir', options.logDir, '--log-level', options.logLevel,
    '--max-connections', limit, '--max-connections-per-ip', limit, '--rate-limit', '0',
    // Idle sessions must outlive the measurement; transfers must not be cut on a busy machine.
    '--idle-timeout', '3600', '--shutdown-grace', '2',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  // Keep the tail of the output for error messages, and drain the pipes so the child never blocks on them.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 30_000;
  let ready = false;
  while (!ready) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not listen on 127.0.0.1:${port} within 30 s:\n${output}`);
    }
    ready = await probe(port);
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid as number,
    port,
    rssKiB: () => readRssKiB(child.pid as number),
    cpuSeconds: () => readCpuSeconds(child.pid as number),
    stop: () => stopChild(child, exited),
  };
}

/** True when the port answers with a greeting frame. */
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('data', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
