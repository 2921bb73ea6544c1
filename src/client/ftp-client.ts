import type { Readable, Writable } from 'node:stream';
import type { FileEntry } from '../protocol/messages';
import { Connection, type ConnectionOptions } from './connection';
import { errorFromResponse, FtpError } from './errors';
import { downloadFile, uploadFile, type DownloadOptions, type DownloadResult, type UploadOptions, type UploadResult } from './file-transfers';
import { parseEntry, parseGreeting, readReply, type Greeting, type Reply } from './replies';
import { getOverWire, putOverWire, type GetOptions, type GetResult, type PutOptions, type PutResult } from './transfers';

export type { Greeting } from './replies';
export type { ConnectionOptions } from './connection';

/**
 * A promise-based client of the wire protocol.
 *
 * One request is in flight at a time: calls made concurrently wait in an
 * internal queue and go on the wire one after the other, each finishing
 * (payload and trailer included) before the next starts. Every failure is an
 * {@link FtpError}; a failure in the middle of a payload closes the
 * connection, and then every pending and later call rejects with its reason.
 *
 * ```ts
 * const client = await FtpClient.connect({ host: '127.0.0.1', port: 5002 });
 * const files = await client.list();
 * await client.download('report.pdf', './report.pdf');
 * await client.quit();
 * ```
 */
export class FtpClient {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly conn: Connection,
    /** The server's greeting (code 200). */
    readonly greeting: Greeting,
  ) {}

  /**
   * Connect and read the greeting. Rejects with kind `refused` (carrying the
   * code, e.g. 503 or 429) when the greeting is anything but 200, and with
   * `network`/`timeout` when the server cannot be reached.
   */
  static async connect(options: ConnectionOptions): Promise<FtpClient> {
    const conn = await Connection.open(options);
    try {
      const greeting = parseGreeting(await conn.readMessage());
      if (greeting.code !== 200) {
        const text = greeting.message || 'connection refused';
        throw new FtpError('refused', `server refused the connection: ${text} (${greeting.code})`, greeting.code);
      }
      return new FtpClient(conn, greeting);
    } catch (err) {
      let reason = err instanceof FtpError ? err : new FtpError('protocol', String(err));
      if (!options.tls && (reason.kind === 'timeout' || reason.kind === 'network')) {
        // A TLS-only server waits for a handshake that a plain client never
        // starts: the silence is the only symptom, so name the likely cause.
        reason = new FtpError(reason.kind, `${reason.message} before the greeting (if the server uses TLS, connect with --tls)`, reason.code, { cause: reason });
      }
      throw conn.close(reason);
    }
  }

  /** True once the connection is gone (closed, failed, or after `quit`). */
  get closed(): boolean {
    return this.conn.closed;
  }

  /** List a folder (the root when `path` is omitted). */
  list(path?: string): Promise<FileEntry[]> {
    return this.run(async (conn) => {
      const request: Record<string, unknown> = { type: 'command', command: 'LS' };
      if (path !== undefined) request.path = path;
      const reply = await this.command(conn, request, path ?? '/');
      const files = reply.fields.files;
      if (!Array.isArray(files)) throw conn.close(new FtpError('protocol', 'listing without a files array'));
      return files.map(parseEntry);
    });
  }

  /** Describe one file or folder. */
  stat(path: string): Promise<FileEntry> {
    return this.run(async (conn) => {
      const reply = await this.command(conn, { type: 'command', command: 'STAT', filename: path }, path);
      return parseEntry(reply.fields.file);
    });
  }

  /**
   * Download `remote` into `dest`, honouring its backpressure. `dest` is not
   * ended (so `process.stdout` can be used). Resolves only after the
   * trailer's SHA-256 matched the bytes received; rejects with kind
   * `integrity` otherwise.
   */
  get(remote: string, dest: Writable, options: GetOptions = {}): Promise<GetResult> {
    return this.run((conn) => getOverWire(conn, remote, dest, options));
  }

  /**
   * Upload exactly `size` bytes from `source` as `remote`. Pass `sha256` so
   * the server refuses corrupted bytes (kind `integrity`, code 422).
   */
  put(remote: string, source: Readable, size: number, options: PutOptions = {}): Promise<PutResult> {
    return this.run((conn) => putOverWire(conn, remote, source, size, options));
  }

  /** Delete a file. */
  async delete(path: string): Promise<void> {
    await this.simple({ type: 'command', command: 'DELETE', filename: path }, path);
  }

  /** Create a folder (its parent must exist). */
  async mkdir(path: string): Promise<void> {
    await this.simple({ type: 'command', command: 'MKDIR', path }, path);
  }

  /** Remove an empty folder. */
  async rmdir(path: string): Promise<void> {
    await this.simple({ type: 'command', command: 'RMDIR', path }, path);
  }

  /** Rename or move; replaces a file at `to`. */
  async rename(from: string, to: string): Promise<void> {
    await this.simple({ type: 'command', command: 'RENAME', from, to }, from);
  }

  /** Log in, for servers whose greeting says `auth_required`. */
  async auth(username: string, password: string): Promise<void> {
    await this.simple({ type: 'command', command: 'AUTH', username, password }, `login as ${username}`);
  }

  /**
   * Download to a local file through `localPath + '.part'`, renamed only when
   * every byte arrived and the checksum matched. See {@link downloadFile}.
   */
  download(remote: string, localPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    return downloadFile(this, remote, localPath, options);
  }

  /** Upload a local file with its SHA-256, hashed first. See {@link uploadFile}. */
  upload(localPath: string, remote: string, options: UploadOptions = {}): Promise<UploadResult> {
    return uploadFile(this, localPath, remote, options);
  }

  /** Say goodbye and close. Resolves even if the server already went away. */
  quit(): Promise<void> {
    return this.run(async (conn) => {
      try {
        await conn.send({ type: 'command', command: 'QUIT' });
        await readReply(conn);
        conn.end();
      } catch {
        // The goal was a closed connection; it is closed either way.
      } finally {
        conn.close(new FtpError('closed', 'the client has quit'));
      }
    }, true);
  }

  /** Close at once, without `QUIT`; a call in progress rejects. Idempotent. */
  close(): void {
    this.conn.close();
  }

  /** Send a command and expect 200; anything else becomes an FtpError. */
  private async simple(request: Record<string, unknown>, subject: string): Promise<Reply> {
    return this.run((conn) => this.command(conn, request, subject));
  }

  private async command(conn: Connection, request: Record<string, unknown>, subject: string): Promise<Reply> {
    await conn.send(request);
    const reply = await readReply(conn);
    if (reply.code !== 200) throw errorFromResponse(reply, subject);
    return reply;
  }

  /**
   * Queue `task` behind every earlier call, so requests never interleave on
   * the wire. A failed task does not block the ones queued after it.
   */
  private run<T>(task: (conn: Connection) => Promise<T>, evenIfClosed = false): Promise<T> {
    const result = this.tail.then(() => {
      if (this.conn.closed && !evenIfClosed) throw this.conn.closeReason ?? new FtpError('network', 'the connection is closed');
      return task(this.conn);
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
