import path from 'node:path';
import type { Writable } from 'node:stream';
import type { FileEntry } from '../../protocol/messages';
import { FtpClient } from '../ftp-client';
import { FtpError } from '../errors';
import { resolveRemote, toWirePath } from '../remote-path';
import { noProgress, terminalProgress, type TransferProgress } from '../ui/progress';

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

  constructor(readonly options: SessionOptions) {
    this.localDir = path.resolve(options.localDir);
    this.now = options.now ?? Date.now;
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

  /** Print lines on stdout. */
  print(lines: string | readonly string[]): void {
    const all = typeof lines === 'string' ? [lines] : lines;
    if (all.length > 0) this.options.stdout.write(`${all.join('\n')}\n`);
  }

  /** Print a result: its text, or with `--json` the value as one JSON line. */
  result(text: string | readonly string[], value: unknown): void {
    if (this.json) this.options.stdout.write(`${JSON.stringify(value)}\n`);
    else this.print(text);
  }

  /** A notice on stderr (never mixed into results). */
  warn(line: string): void {
    this.options.stderr.write(`${line}\n`);
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
    });
    if (client.greeting.auth_required) {
      const { user, password } = this.options;
      if (user === undefined) {
        this.warn('the server requires authentication: pass --user (password in FTP_SERVER_PASSWORD)');
      } else {
        try {
          await client.auth(user, password ?? '');
        } catch (err) {
          client.close();
          throw err instanceof FtpError ? err : new FtpError('auth', String(err));
        }
      }
    }
    return client;
  }
}
