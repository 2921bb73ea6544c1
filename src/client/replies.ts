import { MAX_VERSION_LENGTH, type FileEntry } from '../protocol/messages';
import type { Connection } from './connection';
import { FtpError } from './errors';

/**
 * Runtime checks of what the server sends. A server that breaks the contract
 * gets a `protocol` error (and the connection is closed, since the replies can
 * no longer be matched to requests) instead of `undefined` leaking into the
 * caller's hands.
 */

/** The greeting's fields, as the client exposes them. */
export interface Greeting {
  code: number;
  message: string;
  protocol?: number;
  server?: string;
  /** Commands the server supports (upper-case); empty when it did not say. */
  features: string[];
  auth_required: boolean;
}

/** A `response` frame: a code, a message, and any other fields. */
export interface Reply {
  code: number;
  message: string;
  fields: Record<string, unknown>;
}

/** Read the next frame and check that it is a `response`. */
export async function readReply(conn: Connection): Promise<Reply> {
  const frame = await conn.readMessage();
  if (frame.type !== 'response' || !Number.isInteger(frame.code)) {
    throw conn.close(new FtpError('protocol', `unexpected message from the server (type ${describe(frame.type)})`));
  }
  return { code: frame.code as number, message: typeof frame.message === 'string' ? frame.message : '', fields: frame };
}

/** Check the first frame of a connection. */
export function parseGreeting(frame: Record<string, unknown>): Greeting {
  if (frame.type !== 'connection' || !Number.isInteger(frame.code)) {
    throw new FtpError('protocol', `expected a greeting, got a message of type ${describe(frame.type)}`);
  }
  const features = Array.isArray(frame.features)
    ? frame.features.filter((f): f is string => typeof f === 'string').map((f) => f.toUpperCase())
    : [];
  return {
    code: frame.code as number,
    message: typeof frame.message === 'string' ? frame.message : '',
    ...(typeof frame.protocol === 'number' ? { protocol: frame.protocol } : {}),
    ...(typeof frame.server === 'string' ? { server: frame.server } : {}),
    features,
    auth_required: frame.auth_required === true,
  };
}

/** Check one listing entry (`LS` files, `STAT` file). */
export function parseEntry(value: unknown): FileEntry {
  const e = value as Partial<FileEntry> | null;
  if (
    e === null || typeof e !== 'object'
    || typeof e.name !== 'string'
    || (e.type !== 'file' && e.type !== 'dir')
    || !isCount(e.size)
    || typeof e.mtime !== 'string'
  ) {
    throw new FtpError('protocol', 'malformed file entry from the server');
  }
  return { name: e.name, type: e.type, size: e.size, mtime: e.mtime };
}

/**
 * A file version from the server, if it is one this client will keep and
 * send back as `if_version`: a string of 1 to {@link MAX_VERSION_LENGTH}
 * characters. Anything else counts as no version (an older server).
 */
export function acceptableVersion(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_VERSION_LENGTH ? value : undefined;
}

/** A non-negative safe integer (sizes, offsets, byte counts). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(type: unknown): string {
  return typeof type === 'string' ? `'${type.slice(0, 40)}'` : 'missing';
}
