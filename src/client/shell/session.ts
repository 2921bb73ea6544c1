import path from 'node:path';
import type { Writable } from 'node:stream';
import type { FileEntry } from '../../protocol/messages';
import type { TlsClientOptions } from '../connection';
import { FtpClient } from '../ftp-client';
import { FtpError } from '../errors';
import { resolveRemote, toWirePath } from '../remote-path';
import { noProgress, terminalProgress, type TransferProgress } from '../ui/progress';
import { jsonLine, visible } from '../ui/terminal-text';

/** Everything a session needs from its caller; the CLI builds it from argv/env. */
export interface SessionOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Local folder that relative local paths start from (`--dir`). */
  localDir: string;
  stdout: Writable;
  stderr: Writable;
  /** Draw progress bars (only when the output is a terminal). */
  progress: boolean;
  /** Print results as JSON (one-shot `--json`). */
  json: boolean;
  user?: string;
  password?: string;
  /** Speak TLS, checking the server's certificate (against `tls.ca` when given). */
  tls?: TlsClientOptions;
  /** Ask the person at the terminal for a password (no echo); absent when nobody can be asked. */
  askPassword?: (prompt: string) => Promise<string>;
  /** Time source for durations and caches. */
  now?: () => number;
}

/** How long a remote listing stays fresh for tab completion. */
const COMPLETION_CACHE_MS = 5_000;

/**
 * The state shared by the commands of one shell (or one one-shot run): the
 * connection, opened lazily and reopened after a drop, the remote and local
 * working folders, and the output streams.
 */
export class ClientSession {
  remoteCwd = '/';
  localDir: string;
  readonly now: () => number;
  private client: FtpClient | null = null;
  private connecting: Promise<FtpClient> | null = null;
  private readonly listings = new Map<string, { at: number; entries: FileEntry[] }>();
  /** Who to log in as on every (re)connection, once known. */
  private user: string | undefined;
  /** Kept in memory only, so a dropped connection logs in again by itself. */
  private password: string | undefined;
  private askPassword: ((prompt: string) => Promise<string>) | undefined;

  constructor(readonly options: SessionOptions) {
    this.localDir = path.resolve(options.localDir);
    this.now = options.now ?? Date.now;
    this.user = options.user;
    this.password = options.password;
    this.askPassword = options.askPassword;
  }

  /** The user logged in (or to log in) as, if any. */
  get userName(): string | undefined {
    return this.user;
  }

  /** Replace how passwords are asked for (the shell asks through its own line editor). */
  setPasswordPrompt(ask: ((prompt: string) => Promise<string>) | undefined): void {
    this.askPassword = ask;
  }

  /**
   * Log in as `user` on the current connection (the shell's `login`): the
   * password comes from the prompt, or from the environment's when nobody
   * can be asked. Later reconnections log in the same way.
   */
  async login(user: string): Promise<void> {
    const client = await this.connection();
    const password = await this.passwordFor(user, this.askPassword !== undefined || user !== this.user);
    await client.auth(user, password);
    this.user = user;
    this.password = password;
    this.invalidate();
  }

  get json(): boolean {
    return this.options.json;
  }

  /** The live client, connecting (or reconnecting after a drop) when needed. */
  async connection(): Promise<FtpClient> {
    if (this.client && !this.client.closed) return this.client;
    if (this.client) this.warn(`reconnecting to ${this.options.host}:${this.options.port}`);
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    this.client = await this.connecting;
    return this.client;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.client !== null && !this.client.closed;
  }

  /** Abort whatever is running by dropping the connection (Ctrl-C during a transfer). */
  abort(): void {
    this.client?.close();
  }

  /** Say `QUIT` and close; safe when never connected. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client && !client.closed) await client.quit();
  }

  /** Absolute remote path for what the user typed. */
  remote(input: string): string {
    return resolveRemote(this.remoteCwd, input);
  }

  /** Absolute local path for what the user typed. */
  local(input: string): string {
    return path.resolve(this.localDir, input);
  }

  /** A remote listing for completion, cached briefly so Tab stays quick. */
  async cachedList(absDir: string): Promise<FileEntry[]> {
    const hit = this.listings.get(absDir);
    if (hit && this.now() - hit.at < COMPLETION_CACHE_MS) return hit.entries;
    const entries = await (await this.connection()).list(toWirePath(absDir));
    this.listings.set(absDir, { at: this.now(), entries });
    return entries;
  }

  /** Forget cached listings (after anything that changes the remote side). */
  invalidate(): void {
    this.listings.clear();
  }

  // print, result and warn are the only ways commands reach the terminal, and
  // each escapes what it writes: names and messages come from other users.

  /** Print lines on stdout, each made safe for a terminal ({@link visible}). */
  print(lines: string | readonly string[]): void {
    const all = typeof lines === 'string' ? [lines] : lines;
    if (all.length > 0) this.options.stdout.write(`${all.map(visible).join('\n')}\n`);
  }

  /** Print a result: its text, or with `--json` the value as one JSON line ({@link jsonLine}). */
  result(text: string | readonly string[], value: unknown): void {
    if (this.json) this.options.stdout.write(`${jsonLine(value)}\n`);
    else this.print(text);
  }

  /** A notice on stderr (never mixed into results), made safe for a terminal. */
  warn(line: string): void {
    this.options.stderr.write(`${visible(line)}\n`);
  }

  /** A progress display for one transfer: a bar on a terminal, nothing otherwise. */
  progress(label: string): TransferProgress {
    if (!this.options.progress || this.json) return noProgress;
    return terminalProgress(label, this.options.stderr, this.now);
  }

  private async open(): Promise<FtpClient> {
    const client = await FtpClient.connect({
      host: this.options.host,
      port: this.options.port,
      timeoutMs: this.options.timeoutMs,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
    });
    const { auth_required: required, features } = client.greeting;
    const user = this.user;
    if (user === undefined) {
      if (required) this.warn('the server requires authentication: pass --user (password from a prompt or FTP_PASSWORD), or type login USER in the shell');
      return client;
    }
    // A server with optional accounts (anonymous access) still gets the
    // login: the user asked for their own rights, not the guest's.
    if (!required && !features.includes('AUTH')) {
      this.warn(`the server has no accounts; not logging in as ${user}`);
      return client;
    }
    try {
      const password = await this.passwordFor(user, false);
      await client.auth(user, password);
      this.password = password;
    } catch (err) {
      client.close();
      throw err instanceof FtpError ? err : new FtpError('auth', String(err));
    }
    return client;
  }

  /** The password for `user`: the known one unless `fresh`, else asked for. */
  private async passwordFor(user: string, fresh: boolean): Promise<string> {
    if (!fresh && this.password !== undefined) return this.password;
    if (this.askPassword) return this.askPassword(visible(`Password for ${user}@${this.options.host}: `));
    if (this.password !== undefined) return this.password;
    throw new FtpError('auth', `no password for ${user}: set FTP_PASSWORD, or run on a terminal to be asked`);
  }
}
