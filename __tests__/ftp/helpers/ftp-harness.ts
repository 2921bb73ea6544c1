/**
 * A real FTP listener (and, when asked, the native port beside it on the
 * same core) on 127.0.0.1, port 0, over a fresh temp root; and a bare
 * control connection that speaks FTP byte by byte, for tests that must
 * send what no well-behaved client would. Every wait is bounded.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Accounts, type AnonymousAccess } from '../../../src/auth/accounts';
import type { LoginPolicy } from '../../../src/auth/login-guard';
import type { TlsCredentials } from '../../../src/auth/tls-files';
import type { ServerLimits } from '../../../src/config/defaults';
import type { ProxySettings } from '../../../src/core/intake';
import type { ServerObserver } from '../../../src/core/observer';
import { ServerCore } from '../../../src/core/server-core';
import type { PortRange } from '../../../src/ftp/data-address';
import { FtpServer } from '../../../src/ftp/ftp-server';
import { MemoryLog } from '../../../src/logging/log';
import { FileServer } from '../../../src/server/file-server';
import type { Storage } from '../../../src/storage/storage';
import type { Clock } from '../../../src/util/clock';
import { TEST_SCRYPT, writeUsers, type TestUser } from '../../auth/auth-server';

/** Bounded wait for anything. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface FtpHarnessOptions {
  limits?: Partial<ServerLimits>;
  clock?: Clock;
  users?: TestUser[];
  anonymous?: AnonymousAccess;
  policy?: Partial<LoginPolicy>;
  tls?: TlsCredentials;
  implicitTls?: boolean;
  allowPlain?: boolean;
  pasvPorts?: PortRange;
  pasvAddress?: string;
  activeAllowed?: boolean;
  /** Read PROXY headers from these balancers on the control and passive data ports. */
  proxy?: ProxySettings;
  /** Listen on this loopback address (default 127.0.0.1). */
  host?: string;
  /** Also start the native port on the same core. */
  native?: boolean;
  observer?: ServerObserver;
  storage?: Storage;
  /** Runs after the folders exist, before the servers start. */
  prepare?: (dirs: { root: string; outside: string }) => Promise<void>;
}

/** A running FTP port over a temp root. */
export interface FtpHarness {
  ftp: FtpServer;
  /** The native port on the same core, when asked for. */
  native: FileServer | undefined;
  core: ServerCore;
  port: number;
  root: string;
  /** A folder beside the root: nothing in it may ever be touched. */
  outside: string;
  log: MemoryLog;
  accounts: Accounts | undefined;
  /** Write a file under the root. */
  put(relative: string, content: string | Buffer): Promise<void>;
  read(relative: string): Promise<Buffer>;
  /** A raw control connection, greeting read. */
  connect(options?: { localAddress?: string }): Promise<FtpControl>;
  /** A raw control connection, logged in (any name without accounts). */
  login(user?: string, password?: string): Promise<FtpControl>;
  stop(): Promise<void>;
}

export async function startFtp(options: FtpHarnessOptions = {}): Promise<FtpHarness> {
  const base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-port-')));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  await options.prepare?.({ root, outside });
  const log = new MemoryLog();
  let accounts: Accounts | undefined;
  if (options.users || options.anonymous) {
    const usersFile = path.join(base, 'users.json');
    if (options.users) await writeUsers(usersFile, options.users);
    accounts = await Accounts.open({
      root,
      ...(options.users ? { usersFile } : {}),
      ...(options.anonymous ? { anonymous: options.anonymous } : {}),
      policy: { failureDelayMs: 0, maxFailureDelayMs: 0, ...options.policy },
      scrypt: TEST_SCRYPT,
      ...(options.clock ? { clock: options.clock } : {}),
      log,
    });
  }
  const core = await ServerCore.create({
    root,
    ...(options.storage ? { storage: options.storage } : {}),
    log,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    limits: { shutdownGraceMs: 2_000, ...options.limits },
    ...(accounts ? { authenticator: accounts, guestStorage: accounts.guestStorage, bans: accounts } : {}),
  });
  const ftp = await FtpServer.start({
    core,
    host: options.host ?? '127.0.0.1',
    port: 0,
    ...(options.proxy ? { proxy: options.proxy } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.implicitTls ? { implicitTls: true } : {}),
    ...(options.allowPlain ? { allowPlain: true } : {}),
    ...(options.pasvPorts ? { pasvPorts: options.pasvPorts } : {}),
    ...(options.pasvAddress ? { pasvAddress: options.pasvAddress } : {}),
    ...(options.activeAllowed === false ? { activeAllowed: false } : {}),
  });
  const native = options.native ? await FileServer.start({ core, host: '127.0.0.1', port: 0 }) : undefined;
  const harness: FtpHarness = {
    ftp,
    native,
    core,
    port: ftp.port,
    root,
    outside,
    log,
    accounts,
    async put(relative, content) {
      const target = path.join(root, relative);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.writeFile(target, content);
    },
    read: (relative) => fs.readFile(path.join(root, relative)),
    connect: (connectOptions) => FtpControl.open(ftp.port, connectOptions),
    async login(user = 'tester', password = 'secret') {
      const control = await FtpControl.open(ftp.port);
      expect((await control.cmd(`USER ${user}`)).code).toBe(331);
      const reply = await control.cmd(`PASS ${password}`);
      if (reply.code !== 230) throw new Error(`login failed: ${reply.text}`);
      return control;
    },
    async stop() {
      await Promise.all([ftp.close(1_000), native?.close(1_000)]);
      await core.close();
      await fs.rm(base, { recursive: true, force: true });
    },
  };
  return harness;
}

/** One FTP reply. */
export interface Reply {
  code: number;
  /** Every line, without line ends. */
  lines: string[];
  /** The text after the code of the first line. */
  text: string;
  /** The bytes exactly as received. */
  raw: string;
}

/** A bare FTP control connection. */
export class FtpControl {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closedFlag = false;

  private constructor(public socket: net.Socket) {
    this.listen(socket);
  }

  /** `preface`: bytes written before the greeting is read (a balancer's PROXY header); `host`: default 127.0.0.1. */
  static open(port: number, options: { localAddress?: string; tls?: tls.ConnectionOptions; preface?: Buffer; host?: string } = {}): Promise<FtpControl> {
    return within(
      new Promise<FtpControl>((resolve, reject) => {
        const onConnect = async (): Promise<void> => {
          const control = new FtpControl(socket);
          try {
            const greeting = await control.read();
            control.greeting = greeting;
            resolve(control);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        };
        const host = options.host ?? '127.0.0.1';
        const local = options.localAddress ? { localAddress: options.localAddress } : {};
        const preface = options.preface;
        let socket: net.Socket;
        if (options.tls && preface) {
          // The header in cleartext, then the handshake on the same socket: as a balancer sends them.
          const raw = net.connect({ host, port, ...local }, () => {
            raw.write(preface);
            socket = tls.connect({ socket: raw, ...options.tls }, () => void onConnect());
            socket.once('error', reject);
          });
          raw.once('error', reject);
          return;
        }
        socket = options.tls
          ? tls.connect({ host, port, ...local, ...options.tls }, () => void onConnect())
          : net.connect({ host, port, ...local }, () => {
              if (preface) socket.write(preface);
              void onConnect();
            });
        socket.once('error', reject);
      }),
      5_000,
      'FTP connect',
    );
  }

  /** The greeting (or the refusal) the server sent first. */
  greeting: Reply | undefined;

  private readonly onData = (chunk: Buffer): void => {
    // latin1: one char per byte, so the reply bytes stay exact.
    this.buffer += chunk.toString('latin1');
    this.wake();
  };

  private readonly onClose = (): void => {
    this.closedFlag = true;
    this.wake();
  };

  /** The latest TLS session the server gave this connection (a TLS 1.3 ticket comes after the handshake). */
  tlsSession: Buffer | undefined;

  /** The TLS session to resume on data connections, once the server has sent one. */
  async session(timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.tlsSession) {
      if (Date.now() > deadline) throw new Error('no TLS session ticket');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.tlsSession;
  }

  private listen(socket: net.Socket): void {
    if (socket instanceof tls.TLSSocket) socket.on('session', (session: Buffer) => (this.tlsSession = session));
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined);
  }

  /**
   * After a 234 to AUTH TLS: run the client side of the handshake on this
   * connection and go on over TLS. Bytes received before the switch stay
   * as they were read.
   */
  async startTls(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const raw = this.socket;
    raw.off('data', this.onData);
    raw.off('close', this.onClose);
    const secure = await within(
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const socket = tls.connect({ socket: raw, ...options }, () => resolve(socket));
        socket.once('error', reject);
      }),
      10_000,
      'TLS handshake on the control connection',
    );
    this.socket = secure;
    this.listen(secure);
    return secure;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Write raw bytes. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Send one command line (CRLF added). */
  send(line: string): void {
    this.socket.write(Buffer.from(`${line}\r\n`, 'utf8'));
  }

  /** Send a line and read its reply. */
  async cmd(line: string): Promise<Reply> {
    this.send(line);
    return this.read();
  }

  /** The next whole reply (multi-line aware, RFC 959 §4.2). */
  async read(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.take();
      if (reply) return reply;
      if (this.closedFlag) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer)}`);
      await within(new Promise<void>((resolve) => this.waiters.push(resolve)), left, 'FTP reply').catch(() => undefined);
    }
  }

  /** Bytes received and not yet read as replies. */
  get pending(): string {
    return this.buffer;
  }

  private take(): Reply | undefined {
    const first = this.buffer.indexOf('\r\n');
    if (first === -1) return undefined;
    const head = this.buffer.slice(0, first);
    const code = Number(head.slice(0, 3));
    let end = first + 2;
    if (head[3] === '-') {
      for (;;) {
        const next = this.buffer.indexOf('\r\n', end);
        if (next === -1) return undefined;
        const line = this.buffer.slice(end, next);
        end = next + 2;
        if (line.startsWith(`${head.slice(0, 3)} `)) break;
      }
    }
    const raw = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end);
    const lines = raw.slice(0, -2).split('\r\n');
    // latin1 in, so the bytes are exact; names are UTF-8 on the wire.
    const utf8 = lines.map((line) => Buffer.from(line, 'latin1').toString('utf8'));
    return { code, lines: utf8, text: utf8[0].slice(4), raw };
  }

  /** PASV or EPSV, and the port to connect to. */
  async passive(kind: 'PASV' | 'EPSV' = 'EPSV'): Promise<number> {
    const reply = await this.cmd(kind);
    if (kind === 'PASV') {
      const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.text);
      if (reply.code !== 227 || !m) throw new Error(`PASV: ${reply.raw}`);
      return Number(m[5]) * 256 + Number(m[6]);
    }
    const m = /\(\|\|\|(\d+)\|\)/.exec(reply.text);
    if (reply.code !== 229 || !m) throw new Error(`EPSV: ${reply.raw}`);
    return Number(m[1]);
  }

  /** Wait for the server to close the connection. */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await within(new Promise<void>((resolve) => this.waiters.push(resolve)), left, 'close').catch(() => undefined);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Open a data connection to a passive port. */
export function dataConnect(port: number, options: { localAddress?: string } = {}): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => resolve(socket));
      socket.once('error', reject);
    }),
    5_000,
    'data connect',
  );
}

/** Everything a data connection sends until it closes. */
export function readAll(socket: net.Socket, timeoutMs = 10_000): Promise<Buffer> {
  return within(
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let ended = false;
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => {
        ended = true;
        resolve(Buffer.concat(chunks));
      });
      socket.once('error', reject);
      socket.once('close', () => {
        if (!ended) reject(new Error(`data connection closed without an end after ${Buffer.concat(chunks).length} bytes`));
      });
    }),
    timeoutMs,
    'data read',
  );
}

/** A passive transfer in one go: EPSV, connect, the command, its 150, the bytes, the final reply. */
export async function transfer(
  control: FtpControl,
  command: string,
  upload?: Buffer | string,
): Promise<{ preliminary: Reply; final: Reply; data: Buffer }> {
  const port = await control.passive('EPSV');
  const socket = await dataConnect(port);
  const reading = upload === undefined ? readAll(socket) : Promise.resolve(Buffer.alloc(0));
  control.send(command);
  const preliminary = await control.read();
  if (preliminary.code !== 150) {
    reading.catch(() => undefined);
    socket.destroy();
    return { preliminary, final: preliminary, data: Buffer.alloc(0) };
  }
  if (upload !== undefined) socket.end(upload);
  const data = await reading;
  const final = await control.read();
  return { preliminary, final, data };
}
