/**
 * The real `ftp-server` CLI in a child process, for tests that must measure
 * the server's own memory (RSS) apart from the test runner's. Every wait is
 * bounded; `stop` sends SIGTERM to this child's PID only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

const BIN = path.join(__dirname, '..', '..', 'bin', 'ftp-server.js');

/** A running server process and what it printed so far. */
export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Everything written to stdout and stderr until now. */
  output(): string;
  /** Resolves when `pattern` has appeared in the output; rejects after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then wait for the exit (SIGKILL and reject if it does not come in `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Start `node bin/ftp-server.js …args` in `cwd` and wait for its listening
 * banner. With `fdLimit`, the server runs under `ulimit -n fdLimit` (bash
 * `exec`s node, so the PID is still the server's).
 */
export async function spawnServer(
  args: string[],
  cwd: string,
  startTimeoutMs = 20_000,
  options: { fdLimit?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerProcess> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child =
    options.fdLimit === undefined
      ? spawn(process.execPath, [BIN, ...args], { cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -n ${options.fdLimit} && exec ${quoted}`], { cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (data: Buffer) => {
    output += data.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForOutput = (pattern: RegExp, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(output)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-2_000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  try {
    await Promise.race([
      waitForOutput(/FTP Server listening on 127\.0\.0\.1:\d+/, startTimeoutMs),
      exited.then((code) => Promise.reject(new Error(`server exited with ${code} before listening:\n${output}`))),
    ]);
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }
  const port = Number(/FTP Server listening on 127\.0\.0\.1:(\d+)/.exec(output)![1]);
  return {
    child,
    pid: child.pid!,
    port,
    output: () => output,
    waitForOutput,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(child.pid!, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        process.kill(child.pid!, 'SIGKILL');
        await exited;
        throw new Error(`server did not exit within ${timeoutMs} ms of SIGTERM`);
      }
      return outcome;
    },
  };
}

/** Resident set size of a process, in bytes, from /proc/<pid>/status (Linux). */
export async function readRss(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; `stop` returns every sample taken. */
export function sampleRss(pid: number, everyMs = 100): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(await readRss(pid));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Bytes as mebibytes with one decimal, for reports. */
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
