import type { ServerLimits } from '../../config/defaults';
import type { Log } from '../../logging/log';
import type { Storage } from '../../storage/storage';
import type { Clock } from '../../util/clock';
import type { DigestCache } from '../digest-cache';
import type { ReceivedPayload } from '../upload-receiver';
import type { Writable } from 'node:stream';
import type { OpenedFile, SmallFile } from '../../storage/storage';
import type { Authenticator, Permission, SessionInfo } from '../access';
import type { ServerObserver } from '../observer';

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
  /**
   * Send `[offset, file.size)` as a payload, from an open file (streamed) or a
   * small file already in memory; returns the bytes' digest.
   */
  sendFile(file: OpenedFile | SmallFile, offset: number): Promise<{ bytes: number; sha256: string }>;
  /** Receive exactly `size` payload bytes into `sink`. */
  receive(size: number, sink: Writable): Promise<ReceivedPayload>;
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
  /** Whole-file SHA-256 digests by file version, shared by all sessions. */
  readonly digests: DigestCache;
  /** Who is connected and logged in. */
  readonly session: SessionInfo;
  /** Checks credentials for AUTH; absent when accounts are off. */
  readonly authenticator: Authenticator | undefined;
  /** Metrics and transfer-log hooks. */
  readonly observer: ServerObserver;
}

/**
 * One protocol command. Handlers validate their fields, call storage, and
 * either return a reply (sent by the session) or answer on the channel
 * themselves (GET, PUT) and return nothing. They throw `ProtocolError`s for
 * refusals; the session maps every error to a response in one place.
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
