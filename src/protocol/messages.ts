import { BadRequestError } from './errors';

/** A listing entry, as `LS` and `STAT` send it (§4). */
export interface FileEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  /** UTC `YYYY-MM-DDTHH:MM:SS.sssZ`. */
  mtime: string;
}

/** The first frame on every connection. */
export interface GreetingMessage {
  type: 'connection';
  code: number;
  message: string;
  protocol?: number;
  server?: string;
  features?: string[];
  auth_required?: boolean;
}

/** A request from the client. Unknown fields are kept and ignored. */
export interface CommandMessage {
  type: 'command';
  command: string;
  [field: string]: unknown;
}

/** The answer to one command: always a code and a message, plus fields. */
export interface ResponseMessage {
  type: 'response';
  code: number;
  message: string;
  [field: string]: unknown;
}

/** The trailer after a `GET` payload. */
export interface TransferMessage {
  type: 'transfer';
  code: number;
  message: string;
  bytes: number;
  sha256: string;
}

export type ServerMessage = GreetingMessage | ResponseMessage | TransferMessage;

/** A validated request: the command upper-cased, the frame kept for its fields. */
export interface ParsedCommand {
  name: string;
  fields: Record<string, unknown>;
}

/**
 * Check the envelope of a client frame: `type` must be `command` and
 * `command` a non-empty string. Field checks belong to each command.
 */
export function parseCommand(message: Record<string, unknown>): ParsedCommand {
  if (message.type !== 'command') {
    const shown = typeof message.type === 'string' ? `'${truncate(message.type)}'` : 'missing';
    throw new BadRequestError(`Unknown message type: ${shown}`);
  }
  const name = message.command;
  if (typeof name !== 'string' || name.length === 0) {
    throw new BadRequestError("Missing or invalid field 'command'");
  }
  return { name: name.toUpperCase(), fields: message };
}

/** A required string field. */
export function requireString(fields: Record<string, unknown>, key: string): string {
  const value = fields[key];
  if (typeof value !== 'string') throw new BadRequestError(`Missing or invalid field '${key}'`);
  return value;
}

/** An optional string field: `undefined` (or `null`) when absent. */
export function optionalString(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`Invalid field '${key}': expected a string`);
  return value;
}

/** A non-negative safe integer field, required or with a default. */
export function nonNegativeInteger(fields: Record<string, unknown>, key: string, fallback?: number): number {
  const value = fields[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new BadRequestError(`Missing or invalid field '${key}': expected a non-negative integer`);
  }
  return value;
}

/**
 * Longest `if_version` a server accepts. Versions are opaque to clients; this
 * server's are 32 characters, and the bound keeps a hostile value short.
 */
export const MAX_VERSION_LENGTH = 128;

/**
 * An optional file version (`GET`'s `if_version`): a string of 1 to
 * {@link MAX_VERSION_LENGTH} characters, compared as is.
 */
export function optionalVersion(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VERSION_LENGTH) {
    throw new BadRequestError(`Invalid field '${key}': expected a version string of 1 to ${MAX_VERSION_LENGTH} characters`);
  }
  return value;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** An optional SHA-256 digest in hex, either case; returned lower-cased. */
export function optionalSha256(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    throw new BadRequestError(`Invalid field '${key}': expected 64 hex digits`);
  }
  return value.toLowerCase();
}

/** Keep client-supplied text short when echoing it in an error. */
function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
