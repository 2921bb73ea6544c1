/**
 * The lexical half of the contract's path rules (shared/PROTOCOL.md §3): pure
 * functions on the string a client sent, no file system. The other half —
 * confining the path to the served root once symlinks are followed — lives in
 * `resolver.ts`, because it needs the disk.
 */
import { StorageError } from './errors';

/** Longest client path accepted, in UTF-8 bytes (§3). */
export const MAX_PATH_BYTES = 4096;
/** Longest single part accepted, in UTF-8 bytes (§3). */
export const MAX_PART_BYTES = 255;

/** Every temporary upload file starts with this (hidden on POSIX). */
export const TEMP_UPLOAD_PREFIX = '.ftp-upload-';
/** …and ends with this. */
export const TEMP_UPLOAD_SUFFIX = '.tmp';
/**
 * The exact shape of a temporary upload name: prefix, 16 lower-case hex
 * digits, suffix. Kept strict so that cleaning stale uploads can never delete
 * a user's file that merely looks similar.
 */
export const TEMP_UPLOAD_PATTERN = /^\.ftp-upload-[0-9a-f]{16}\.tmp$/;

/** True when `name` (one path part) is the server's own temporary upload file. */
export function isTempUploadName(name: string): boolean {
  return TEMP_UPLOAD_PATTERN.test(name);
}

// With the `u` flag a well-formed surrogate pair is one code point, so this
// only matches a lone surrogate: a string that has no UTF-8 encoding and would
// silently become U+FFFD (and so alias another name) on the way to the disk.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The parts of a path that passed the contract's rules, and nothing else:
 * the brand means only {@link parseClientPath} and {@link childPath} make
 * one, so a backend never sees a raw client string. Front ends parse once,
 * at their boundary; backends take these as they are.
 */
export type StoragePath = readonly string[] & { readonly __storagePath: true };

/** The root: no parts. */
export const ROOT_PATH = Object.freeze([]) as readonly string[] as StoragePath;

function invalid(message: string): StorageError {
  return new StorageError('invalid_path', message);
}

/**
 * Split a client path into its parts, enforcing the contract's lexical rules.
 *
 * `/` separates parts, a leading `/` means the root and empty parts are
 * ignored: `/a//b/` → `['a', 'b']`, `/` → `[]`.
 *
 * @throws StorageError `invalid_path` for the empty string, more than 4,096
 *   UTF-8 bytes, a part over 255 UTF-8 bytes, a NUL or a backslash anywhere,
 *   a part that is `.` or `..`, or a lone surrogate (not encodable as UTF-8).
 * @throws StorageError `forbidden` for a part that is a temporary upload
 *   name, so clients can neither see nor touch uploads in flight. The
 *   `invalid_path` checks run over the whole path first.
 */
export function parseClientPath(raw: string): StoragePath {
  if (raw.length === 0) throw invalid('Invalid path: empty');
  if (Buffer.byteLength(raw, 'utf8') > MAX_PATH_BYTES) {
    throw invalid(`Invalid path: longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (raw.includes('\0')) throw invalid('Invalid path: contains NUL');
  if (raw.includes('\\')) throw invalid('Invalid path: contains a backslash');
  if (LONE_SURROGATE.test(raw)) throw invalid('Invalid path: not valid Unicode');

  const parts = raw.split('/').filter((part) => part.length > 0);
  for (const part of parts) {
    if (part === '.' || part === '..') {
      throw invalid("Invalid path: '.' and '..' are not allowed");
    }
    if (Buffer.byteLength(part, 'utf8') > MAX_PART_BYTES) {
      throw invalid(`Invalid path: a part is longer than ${MAX_PART_BYTES} bytes`);
    }
  }
  if (parts.some(isTempUploadName)) throw new StorageError('forbidden', 'Reserved name');
  return parts as readonly string[] as StoragePath;
}

/** `parent` and then one more part, `name`, checked by the same rules. */
export function childPath(parent: StoragePath, name: string): StoragePath {
  if (name.includes('/')) throw invalid('Invalid path: a name cannot contain /');
  const parts = parseClientPath(name);
  if (parts.length !== 1) throw invalid('Invalid path: empty');
  return [...parent, ...parts] as readonly string[] as StoragePath;
}

/** The folder holding `path` (the root's parent is the root). */
export function parentOf(path: StoragePath): StoragePath {
  return path.slice(0, -1) as readonly string[] as StoragePath;
}

/** `path` as a client would write it, `/a/b` (`/` for the root): for messages and logs. */
export function pathText(path: StoragePath): string {
  return `/${path.join('/')}`;
}

/**
 * Order two names by Unicode code point, which is also UTF-8 byte order (§4).
 * JavaScript's default sort compares UTF-16 units and puts U+FF01 after
 * U+1F600 (whose lead surrogate is 0xD83D); this does not.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Units differ at i. If either is a surrogate, the code points starting
    // here decide; a surrogate's code point (≥ 0x10000) beats any BMP unit,
    // and two lead surrogates compare correctly as units (same order as
    // their code points). Only the mixed case needs fixing.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x - y;
    return xs ? 1 : -1;
  }
  return a.length - b.length;
}
