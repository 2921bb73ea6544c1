import type { Socket } from 'node:net';
import type { SessionInfo } from '../core/access';
import type { Log } from '../logging/log';
import type { ProtocolError } from '../protocol/errors';
import type { SessionChannel } from './commands/command';
import type { SessionDeps } from './session-deps';

/**
 * A native connection as the command runner sees it: who it is, its log,
 * its channel for payloads, and the few ways to answer or end it. The
 * runner depends on this, not on the session class that implements it.
 */
export interface NativeSession extends SessionInfo {
  readonly socket: Socket;
  readonly deps: SessionDeps;
  /** The session's logger (lines labelled with the client). */
  readonly log: Log;
  /** The channel GET and PUT use. */
  readonly channel: SessionChannel;
  send(message: object): void;
  /** Answer with a `response` carrying the error's code and message. */
  sendError(error: ProtocolError): void;
  /** Answer a frame that is not a command (counted; the connection closes after too many). */
  rejectInvalid(error: ProtocolError): void;
  /** End the connection now. */
  abort(reason: string): void;
  /** Keep `reason` as why the session ended, unless one is kept already. */
  noteReason(reason: string): void;
  uncork(): void;
}
