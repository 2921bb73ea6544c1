/**
 * A throwaway `redis-server` on a free 127.0.0.1 port: no persistence, its
 * own temp folder, stopped by its PID. `stop()` and `start()` again on the
 * same port simulate an outage. A missing binary is an error naming the
 * package, never a silent skip (.ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Where Debian puts daemons; a non-login PATH may lack them. */
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** The full path of `program`; throws with the install command when it is not installed. */
export function requireTool(program: string, debianPackage: string): string {
  const PATH = [process.env.PATH ?? '', ...SYSTEM_DIRS].join(':');
  const found = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8', env: { ...process.env, PATH } });
  if (found.status !== 0 || !found.stdout.trim()) {
    throw new Error(`${program} is not installed; this test needs it: apt-get install -y ${debianPackage} (.ci/run installs it)`);
  }
  return found.stdout.trim();
}

/** A port that was free a moment ago on 127.0.0.1. Callers retry on a clash. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly program: string,
  ) {}

  /** Start one on a free port (retried if another process takes the port first). */
  static async start(): Promise<RedisServer> {
    const program = requireTool('redis-server', 'redis-server');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redis-test-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const server = new RedisServer(await freePort(), dir, program);
      try {
        await server.start();
        return server;
      } catch (err) {
        lastError = err;
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** (Re)start on this port; resolves once it accepts connections. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn(
      this.program,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = undefined;
        throw new Error(`redis-server exited on port ${this.port}: ${output.trim().slice(-500)}`);
      }
      if (await this.answersPing()) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`redis-server did not answer on port ${this.port} within ${timeoutMs} ms: ${output.slice(-500)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** SIGTERM to this server's PID (SIGKILL after `timeoutMs`); resolves when it has exited. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stop it and remove its folder. */
  async dispose(): Promise<void> {
    await this.stop();
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** One inline PING over a raw socket: true on `+PONG`. */
  private answersPing(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ port: this.port, host: '127.0.0.1' });
      let reply = '';
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d: Buffer) => {
        reply += d.toString();
        if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
      });
    });
  }
}
