/**
 * Downloads and uploads as every front end needs them, done once: opening
 * one version of a file (and the small-file fast path), the offset and
 * version checks, where each digest comes from (the cache, the backend's
 * stored one, the hash worker, or inline), the size limit, the digest check
 * before an upload is published, the digest cache seeded by uploads, and
 * exactly one transfer record and result log line per transfer. The native
 * GET/PUT and FTP's RETR/STOR are thin around this, so both ports get the
 * same integrity, logs and metrics.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ServerLimits } from '../config/defaults';
import type { Log } from '../logging/log';
import { mapFsError } from '../storage/fs-errors';
import type { StoragePath } from '../storage/path-rules';
import type { DownloadSource, PendingUpload, SmallFile, Storage } from '../storage/storage';
import type { Clock } from '../util/clock';
import type { DigestCache } from './digest-cache';
import { TransferAbortedError, TransferError } from './errors';
import type { DigestTicket, HashWorker } from './hash-worker';
import type { Protocol, ServerObserver, TransferRecord } from './observer';
import { sendFileRange, type ChunkSource } from './payload';
import type { UploadHasher } from './upload-hasher';
import { receivePayload, type ReceivedPayload } from './upload-receiver';

/** Payloads up to this size are read whole and leave in one write with their reply. */
export const SMALL_PAYLOAD_BYTES = 64 * 1024;

/** Ranges at least this large are hashed on the worker thread, off the event loop. */
const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** Who a transfer is for: the labels of its record and the log its result line goes to. */
export interface TransferParty {
  /** `IP:PORT` of the client. */
  readonly remote: string;
  /** The logged-in user, if any. */
  readonly user?: string;
  readonly protocol: Protocol;
  /** The session's log (lines labelled with the client). */
  readonly log: Log;
}

/** What moves a transfer's timers along: every chunk, and the end of the payload. */
export interface TransferHooks {
  /** Bytes moved (push back the stall and idle deadlines). */
  progress: (bytes: number) => void;
  /** The last payload byte is out: what follows (waiting for a digest) is not a stall. */
  payloadDone?: () => void;
}

/**
 * The `version` a native client sees: a digest of the storage's version key
 * (device, inode, size, mtime, ctime on disk; the ETag in a bucket) so inode
 * numbers and exact times do not leak. Unkeyed on purpose: a keyed hash with
 * a per-process secret would change on every restart and fail every resume
 * across one, and the key's nanosecond ctime already makes guessing it back
 * impractical. 128 bits: collisions between two versions of one file are not
 * a concern.
 */
export function publicVersion(versionKey: string): string {
  return createHash('sha256').update(`ftp-server file version\0${versionKey}`).digest('hex').slice(0, 32);
}

/** A name as a client sent it, safe for one log line. */
export function nameForLog(name: string): string {
  const flat = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** What {@link TransferService} is made of. */
export interface TransferDeps {
  digests: DigestCache;
  hasher: HashWorker;
  observer: ServerObserver;
  clock: Clock;
  limits: Pick<ServerLimits, 'maxUploadSize'>;
  /** Hashes large uploads on other threads, where there are cores to spare; inline without. */
  uploadHasher?: UploadHasher;
}

/** See the module comment. One per process, shared by every listener. */
export class TransferService {
  constructor(readonly deps: TransferDeps) {}

  /**
   * Open `path` for a download from `offset`, checking `ifVersion` (a
   * `version_changed` refusal before `offset_beyond_size`: once the file
   * changed, an offset into the version the client holds means nothing).
   * Storage errors pass through. Fires `transferStarted` once it is sure.
   */
  async openDownload(
    storage: Storage,
    path: StoragePath,
    request: { filename: string; offset: number; ifVersion?: string; party: TransferParty },
  ): Promise<Download> {
    // One version of the file for the whole reply: small files are read
    // whole in one go, others streamed from the one source opened here. A
    // concurrent upload publishes a new file and never mixes in.
    const small = storage.readSmall ? await storage.readSmall(path, SMALL_PAYLOAD_BYTES) : undefined;
    const file = small ?? (await storage.openRead(path));
    try {
      const version = publicVersion(file.versionKey);
      if (request.ifVersion !== undefined && request.ifVersion !== version) {
        throw new TransferError('version_changed', 'File changed since that version');
      }
      if (request.offset > file.size) {
        throw new TransferError('offset_beyond_size', `Offset ${request.offset} is beyond the file size ${file.size}`);
      }
      return new Download(this.deps, file, version, request);
    } catch (err) {
      if (!('data' in file)) await file.close();
      throw err;
    }
  }

  /** `upload_too_large` when `size` bytes are more than the server takes. */
  assertUploadSize(size: number): void {
    const limit = this.deps.limits.maxUploadSize;
    if (size > limit) throw new TransferError('upload_too_large', `Upload of ${size} bytes exceeds the limit of ${limit}`);
  }

  /**
   * Start an upload to `path`: the size limit (`upload_too_large`), then the
   * storage's own checks. Fires `transferStarted` once the storage said yes.
   */
  async beginUpload(
    storage: Storage,
    path: StoragePath,
    request: { filename: string; size?: number; sha256?: string; offset?: number; replace: boolean; party: TransferParty },
  ): Promise<Upload> {
    if (request.size !== undefined) this.assertUploadSize(request.size);
    const pending = await storage.beginUpload(path, {
      size: request.size,
      sha256: request.sha256,
      offset: request.offset,
      replace: request.replace,
    });
    return new Upload(this.deps, pending, request);
  }
}

/** One download in progress; see {@link TransferService.openDownload}. */
export class Download {
  private readonly started: number;
  private finished = false;

  constructor(
    private readonly deps: TransferDeps,
    private readonly file: DownloadSource | SmallFile,
    /** The opaque version of the file being sent. */
    readonly version: string,
    private readonly request: { filename: string; offset: number; party: TransferParty },
  ) {
    this.started = deps.clock.now();
    const { party } = request;
    deps.observer.transferStarted?.({
      direction: 'download', filename: request.filename, expectedBytes: this.bytes, remote: party.remote, user: party.user, protocol: party.protocol,
    });
  }

  /** The whole file's size when it was opened. */
  get size(): number {
    return this.file.size;
  }

  get offset(): number {
    return this.request.offset;
  }

  /** Payload bytes this download sends. */
  get bytes(): number {
    return this.file.size - this.request.offset;
  }

  /** True when the payload is small enough to leave in one write with its replies. */
  get small(): boolean {
    return 'data' in this.file || this.bytes <= SMALL_PAYLOAD_BYTES;
  }

  /**
   * Send the payload to `socket` with backpressure and return its digest:
   * whole-file digests are cached per file version (or kept by the backend);
   * otherwise a large range is hashed on the worker thread while this
   * thread sends (sharing the job of any other download of the same bytes),
   * unless the worker's queue is full; then, like a medium range, it is
   * hashed inline as it is sent.
   */
  async sendTo(socket: Socket, hooks: TransferHooks): Promise<{ bytes: number; sha256: string }> {
    const { file } = this;
    const { offset } = this.request;
    const length = this.bytes;
    const whole = offset === 0;
    if ('data' in file || length <= SMALL_PAYLOAD_BYTES) {
      const payload = 'data' in file ? file.data.subarray(offset) : await this.readWhole(file, offset, length);
      socket.write(payload);
      hooks.progress(length);
      hooks.payloadDone?.();
      return { bytes: length, sha256: this.digestOf(payload, whole) };
    }
    const { digests, hasher } = this.deps;
    const known = whole ? (digests.get(file.versionKey) ?? file.storedSha256) : undefined;
    const ticket =
      known === undefined && file.fd !== undefined && length >= WORKER_HASH_MIN_BYTES
        ? hasher.request(file.versionKey, file.fd, offset, file.size)
        : undefined;
    let sent: { bytes: number; sha256?: string };
    try {
      sent = await sendFileRange(socket, file, offset, file.size, hooks.progress, known === undefined && !ticket);
    } catch (err) {
      // The job may read through this download's descriptor, which is
      // closed once we return: let go of it first.
      await ticket?.leave();
      throw err;
    } finally {
      hooks.payloadDone?.();
    }
    const sha256 = sent.sha256 ?? known ?? (await awaitDigest(socket, ticket!, sent.bytes));
    if (whole) digests.set(file.versionKey, sha256);
    return { bytes: sent.bytes, sha256 };
  }

  /** The download is complete (its trailer, if any, is sent): the result line and the record. */
  succeeded(bytes: number): void {
    const from = this.request.offset > 0 ? ` from offset ${this.request.offset}` : '';
    this.request.party.log.info(`GET: Sent file - ${nameForLog(this.request.filename)} (${bytes} bytes${from} in ${this.elapsed()} ms)`);
    this.finish({ ok: true, bytes });
  }

  /** The download failed: an aborted payload gets its ERROR line; every failure gets its record. */
  failed(err: unknown): void {
    if (err instanceof TransferAbortedError) {
      this.request.party.log.error(
        `GET: Failed to send file - ${nameForLog(this.request.filename)} (${err.bytesMoved} of ${this.bytes} bytes in ${this.elapsed()} ms: ${err.message})`,
      );
      this.finish({ ok: false, bytes: err.bytesMoved, error: err.message });
    } else {
      this.finish({ ok: false, bytes: 0, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Release the file. Not awaited by callers: the reply is complete, and the next command need not wait for the close. */
  close(): Promise<void> {
    return 'data' in this.file ? Promise.resolve() : this.file.close();
  }

  private finish(outcome: { ok: boolean; bytes: number; error?: string }): void {
    if (this.finished) return;
    this.finished = true;
    void this.close();
    const { party, filename } = this.request;
    this.deps.observer.transfer?.(record('download', filename, party, this.bytes, this.elapsed(), outcome));
  }

  private elapsed(): number {
    return this.deps.clock.now() - this.started;
  }

  /** A small range read whole (bounded by the small-payload threshold). */
  private async readWhole(file: DownloadSource, offset: number, length: number): Promise<Buffer> {
    if (!file.read) {
      const chunks: Buffer[] = [];
      for await (const chunk of file.createReadStream(offset, offset + length)) chunks.push(chunk as Buffer);
      const data = Buffer.concat(chunks);
      if (data.length < length) throw new TransferAbortedError('file shrank during download', 0);
      return data.subarray(0, length);
    }
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const bytesRead = await file.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new TransferAbortedError('file shrank during download', 0);
      filled += bytesRead;
    }
    return buffer;
  }

  /** SHA-256 of a small payload, from the cache when it is a whole known file version. */
  private digestOf(payload: Buffer, whole: boolean): string {
    const { digests } = this.deps;
    const key = whole ? this.file.versionKey : undefined;
    const cached = key === undefined ? undefined : (digests.get(key) ?? ('storedSha256' in this.file ? this.file.storedSha256 : undefined));
    if (cached !== undefined) return cached;
    const sha256 = createHash('sha256').update(payload).digest('hex');
    if (key !== undefined) digests.set(key, sha256);
    return sha256;
  }
}

/**
 * The digest of a payload already sent. The wait ends early if the client
 * goes away (this download's claim on the job is then dropped, cancelling
 * it unless another download waits for it). A failed job ends the download
 * too: without its trailer, the payload cannot be vouched for.
 */
async function awaitDigest(socket: Socket, ticket: DigestTicket, bytes: number): Promise<string> {
  let onClose: (() => void) | undefined;
  const gone = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(new TransferAbortedError('connection closed while waiting for the digest', bytes));
    if (socket.destroyed) onClose();
    else socket.once('close', onClose);
  });
  try {
    return await Promise.race([ticket.digest, gone]);
  } catch (err) {
    await ticket.leave();
    if (err instanceof TransferAbortedError) throw err;
    throw new TransferAbortedError(`hashing failed: ${err instanceof Error ? err.message : String(err)}`, bytes);
  } finally {
    socket.off('close', onClose!);
  }
}

/** One upload in progress; see {@link TransferService.beginUpload}. */
export class Upload {
  private readonly started: number;
  private received: ReceivedPayload | undefined;
  private finished = false;

  constructor(
    private readonly deps: TransferDeps,
    private readonly pending: PendingUpload,
    private readonly request: { filename: string; size?: number; sha256?: string; offset?: number; party: TransferParty },
  ) {
    this.started = deps.clock.now();
    const { party } = request;
    deps.observer.transferStarted?.({
      direction: 'upload', filename: request.filename, expectedBytes: request.size ?? 0, remote: party.remote, user: party.user, protocol: party.protocol,
    });
  }

  /**
   * Read the payload from `source` into the storage: exactly the announced
   * size, or until the source ends (then refused past the upload limit).
   * A storage failure meanwhile (a full disk) is kept for {@link commit}.
   */
  async receive(source: ChunkSource, hooks: TransferHooks): Promise<ReceivedPayload> {
    try {
      this.received = await receivePayload(source, this.request.size, this.pending.stream, hooks.progress, {
        hasher: this.deps.uploadHasher,
        limit: this.deps.limits.maxUploadSize,
      });
      return this.received;
    } finally {
      hooks.payloadDone?.();
    }
  }

  /**
   * Publish what was received: a storage failure during the payload is
   * thrown now, then the client's digest is checked (`checksum_mismatch`:
   * nothing is published), then the storage commits. The digest of a whole
   * new file seeds the cache, so a later download need not hash it again.
   */
  async commit(): Promise<{ bytes: number; sha256: string; versionKey: string }> {
    const received = this.received;
    if (!received) throw new Error('commit() before receive()');
    // A backend's stream fails with storage errors; a bare errno (a full
    // disk under a stream of someone else's making) is given its kind here.
    if (received.sinkError !== undefined) throw mapFsError(received.sinkError);
    // A hash thread that died: the bytes cannot be vouched for, so none are kept (a bare 500, its cause logged).
    if (received.hashError !== undefined) {
      throw received.hashError instanceof Error ? received.hashError : new Error('hashing failed');
    }
    if (this.request.sha256 !== undefined && this.request.sha256 !== received.sha256) {
      throw new TransferError('checksum_mismatch', 'Checksum mismatch: upload discarded');
    }
    const resumed = (this.request.offset ?? 0) > 0;
    const { versionKey } = await this.pending.commit({ sha256: resumed ? undefined : received.sha256, bytes: received.bytes });
    if (!resumed) this.deps.digests.set(versionKey, received.sha256);
    this.request.party.log.info(`PUT: Received file - ${nameForLog(this.request.filename)} (${received.bytes} bytes in ${this.elapsed()} ms)`);
    this.finish({ ok: true, bytes: received.bytes });
    return { bytes: received.bytes, sha256: received.sha256, versionKey };
  }

  /**
   * The upload failed: the storage throws it away, an aborted payload gets
   * its ERROR line (refusals are logged by the front end like any other
   * answer), and every failure gets its record.
   */
  async failed(err: unknown): Promise<void> {
    if (err instanceof TransferAbortedError) {
      const expected = this.request.size ?? this.received?.bytes ?? err.bytesMoved;
      this.request.party.log.error(
        `PUT: Failed to receive file - ${nameForLog(this.request.filename)} (${err.bytesMoved} of ${expected} bytes in ${this.elapsed()} ms: ${err.message})`,
      );
      this.finish({ ok: false, bytes: err.bytesMoved, error: err.message });
    } else {
      const bytes = this.request.size ?? this.received?.bytes ?? 0;
      this.finish({ ok: false, bytes, error: err instanceof Error ? err.message : String(err) });
    }
    await this.pending.abort();
  }

  private finish(outcome: { ok: boolean; bytes: number; error?: string }): void {
    if (this.finished) return;
    this.finished = true;
    const { party, filename, size } = this.request;
    this.deps.observer.transfer?.(record('upload', filename, party, size ?? outcome.bytes, this.elapsed(), outcome));
  }

  private elapsed(): number {
    return this.deps.clock.now() - this.started;
  }
}

function record(
  direction: 'download' | 'upload',
  filename: string,
  party: TransferParty,
  expectedBytes: number,
  durationMs: number,
  outcome: { ok: boolean; bytes: number; error?: string },
): TransferRecord {
  return {
    direction, filename, bytes: outcome.bytes, expectedBytes, ok: outcome.ok, error: outcome.error,
    durationMs, remote: party.remote, user: party.user, protocol: party.protocol,
  };
}
