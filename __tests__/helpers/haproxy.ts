/**
 * A throwaway HAProxy (Debian `haproxy`) in TCP mode in front of test
 * backends on 127.0.0.1, sending each backend a PROXY header. Run in the
 * foreground (`-db`) from a config written to a temp folder, stopped by its
 * PID. A missing binary is an error naming the package (.ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, requireTool } from './redis-server';

export interface HaproxyBackend {
  name: string;
  port: number;
  /** The backend's loopback address (default 127.0.0.1). */
  host?: string;
  /** `send-proxy-v2` (binary, the default) or `send-proxy` (v1 text). */
  proxyVersion?: 1 | 2;
  /**
   * Health-check this backend with `GET /healthz` on this (admin) port, as
   * deploy/haproxy.cfg does: a failed check takes it out of the balance.
   */
  checkPort?: number;
}

export interface HaproxyOptions {
  backends: HaproxyBackend[];
  /**
   * Source address of HAProxy's connections to the backends: a loopback
   * address other than the clients' 127.0.0.1, so backends can trust it alone.
   */
  source: string;
  /** Balancing algorithm (default roundrobin, which alternates predictably). */
  balance?: string;
  /**
   * Also give each backend a frontend of its own ({@link Haproxy.pinnedPort}),
   * so a test can say which node a connection goes to, still through HAProxy.
   */
  pinned?: boolean;
  /** More config lines appended as they are (frontends and backends of a test's own). */
  extra?: string[];
}

/** Checks a config file with `haproxy -c`; returns its exit code and output. */
export function checkConfig(file: string): { status: number | null; output: string } {
  const program = requireTool('haproxy', 'haproxy');
  const result = spawnSync(program, ['-c', '-f', file], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export class Haproxy {
  private output = '';

  private constructor(
    readonly port: number,
    private readonly pinnedPorts: ReadonlyMap<string, number>,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** The frontend port that goes to backend `name` alone (with `pinned`). */
  pinnedPort(name: string): number {
    const port = this.pinnedPorts.get(name);
    if (port === undefined) throw new Error(`no pinned frontend for backend ${name}`);
    return port;
  }

  /** Everything HAProxy printed so far. */
  get log(): string {
    return this.output;
  }

  /** Write the config, start HAProxy on a free port and wait until it listens. */
  static async start(options: HaproxyOptions, timeoutMs = 10_000): Promise<Haproxy> {
    const program = requireTool('haproxy', 'haproxy');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haproxy-test-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePort();
      const pinned = new Map<string, number>();
      if (options.pinned) for (const backend of options.backends) pinned.set(backend.name, await freePort());
      const file = path.join(dir, 'haproxy.cfg');
      await fs.writeFile(file, config(port, pinned, options));
      const child = spawn(program, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const haproxy = new Haproxy(port, pinned, child, dir, exited);
      child.stdout.on('data', (d: Buffer) => (haproxy.output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (haproxy.output += d.toString()));
      try {
        for (const listening of [port, ...pinned.values()]) await haproxy.waitListening(listening, timeoutMs);
        return haproxy;
      } catch (err) {
        lastError = err;
        await haproxy.stop();
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** SIGTERM to this HAProxy's PID (SIGKILL after `timeoutMs`), then remove its folder. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      }, timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Wait until the frontend port is in LISTEN state. Read from /proc rather
   * than by connecting: a probe connection would be relayed to a backend.
   */
  private async waitListening(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`haproxy exited (${this.child.exitCode}) on port ${port}:\n${this.output}`);
      const table = await fs.readFile('/proc/net/tcp', 'utf8');
      // Columns: sl local_address rem_address st ...; st 0A is LISTEN.
      if (table.split('\n').some((line) => line.trim().split(/\s+/)[1] === wanted && line.trim().split(/\s+/)[3] === '0A')) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function serverLine(b: HaproxyBackend, withCheck = true): string {
  const check = b.checkPort === undefined || !withCheck ? '' : ` check port ${b.checkPort} inter 250ms fall 1 rise 1`;
  return `    server ${b.name} ${b.host ?? '127.0.0.1'}:${b.port} ${b.proxyVersion === 1 ? 'send-proxy' : 'send-proxy-v2'}${check}`;
}

function config(port: number, pinned: ReadonlyMap<string, number>, options: HaproxyOptions): string {
  const checked = options.backends.some((b) => b.checkPort !== undefined);
  // With checks, as in deploy/haproxy.cfg: a connection to a node that just
  // died is retried on another one instead of failing the client.
  const checks = checked
    ? ['    option httpchk', '    http-check send meth GET uri /healthz', '    http-check expect status 200', '    option redispatch 1', '    retries 2']
    : [];
  const pins = options.backends.flatMap((b) =>
    pinned.has(b.name)
      ? [`frontend fe_${b.name}`, `    bind 127.0.0.1:${pinned.get(b.name)}`, `    default_backend pin_${b.name}`, `backend pin_${b.name}`, `    source ${options.source}`, serverLine(b, false)]
      : [],
  );
  return [
    'global',
    '    maxconn 200',
    'defaults',
    '    mode tcp',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout check 2s',
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    '    default_backend nodes',
    'backend nodes',
    `    balance ${options.balance ?? 'roundrobin'}`,
    `    source ${options.source}`,
    ...checks,
    ...options.backends.map((b) => serverLine(b)),
    ...pins,
    ...(options.extra ?? []),
    '',
  ].join('\n');
}
