import type { ServerLimits } from '../../config/defaults';
import type { Authenticator, Permission, SessionInfo } from '../../core/access';
import type { ReceivedPayload } from '../../core/upload-receiver';
import type { Download, TransferParty, TransferService, Upload } from '../../core/transfers';
import type { Log } from '../../logging/log';
import type { Storage } from '../../storage/storage';
import type { Clock } from '../../util/clock';

/** A `response` frame's content, minus the `type` the session adds. */
export interface Reply {
  code: number;
  message: string;
  [field: string]: unknown;
}

/**
 * What a running command may do on its connection beyond returning a reply:
 * the extra frames and payloads of GET and PUT.
 */
export interface SessionChannel {
  /** Send one frame now (a `response` or `transfer`). */
  send(message: object): void;
  /** Send a download's payload (with the session's stall timer); returns the bytes' digest. */
  sendDownload(download: Download): Promise<{ bytes: number; sha256: string }>;
  /** Receive an upload's payload from the connection into its storage. */
  receiveUpload(upload: Upload): Promise<ReceivedPayload>;
  /** Ask the session to close once this command is done (QUIT). */
  endAfterReply(): void;
}

/** Everything a command may use, passed in explicitly (never bound to `this`). */
export interface CommandContext {
  /** The request frame as received; each command checks its own fields. */
  readonly fields: Record<string, unknown>;
  readonly storage: Storage;
  /** The session's logger (lines labelled with the client). */
  readonly log: Log;
  readonly limits: ServerLimits;
  readonly clock: Clock;
  readonly channel: SessionChannel;
  /** Downloads and uploads, shared by every front end. */
  readonly transfers: TransferService;
  /** Who is connected and logged in. */
  readonly session: SessionInfo;
  /** Checks credentials for AUTH; absent when accounts are off. */
  readonly authenticator: Authenticator | undefined;
}

/** The labels of a native transfer: who, from where, and the session's log. */
export function nativeParty({ session, log }: Pick<CommandContext, 'session' | 'log'>): TransferParty {
  return { remote: session.remote, user: session.principal?.name, protocol: 'native', log };
}

/**
 * One protocol command. Handlers validate their fields, call storage, and
 * either return a reply (sent by the session) or answer on the channel
 * themselves (GET, PUT) and return nothing. They throw the typed errors of
 * their layer (`ProtocolError` for bad fields, storage, auth and transfer
 * kinds from below); the runner maps each to a response in one place.
 */
export interface CommandHandler {
  /** Upper-case command name, as in `features`. */
  readonly name: string;
  /** Fields it takes, for help and docs, e.g. `filename [offset]`. */
  readonly syntax: string;
  readonly description: string;
  /**
   * The permission a logged-in user needs for this command; the session
   * checks it before running the command (403 without it).
   */
  readonly permission?: Permission;
  /** Allowed before login when accounts are on (QUIT, AUTH). */
  readonly public?: boolean;
  /** The request's target for log lines (`Command: GET a.txt`), if any. */
  target(fields: Record<string, unknown>): string | undefined;
  run(context: CommandContext): Promise<Reply | void>;
}

/** Show a client-supplied field in a log line, short and on one line. */
export function fieldForLog(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  if (typeof value !== 'string') return undefined;
  const flat = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
