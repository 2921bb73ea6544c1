/**
 * Password hashing with scrypt (node:crypto). Each hash carries its own salt
 * and cost parameters, so the defaults can be raised later without
 * invalidating existing accounts:
 *
 *     $scrypt$ln=15,r=8,p=1$<salt, base64>$<key, base64>
 *
 * `ln` is log2 of scrypt's N. Parsing is strict and bounded, so a tampered
 * users file cannot make one login allocate gigabytes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost parameters. */
export interface ScryptParams {
  /** log2 of N (CPU and memory cost). */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/**
 * Production cost: N = 2^15, r = 8 — 32 MiB and some tens of milliseconds
 * per hash, the usual interactive-login setting.
 */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });

/** Bounds accepted when reading a hash (N up to 2^20, i.e. 1 GiB at r = 8). */
const LIMITS = { ln: [1, 20], r: [1, 32], p: [1, 16] } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longest password accepted, in UTF-8 bytes: long enough for any passphrase. */
export const MAX_PASSWORD_BYTES = 1024;

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{43,88})$/;

/** A parsed hash: parameters, salt and derived key. */
export interface PasswordHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Check parameters against the bounds; throws a plain Error naming the bad one. */
export function checkParams(params: ScryptParams): ScryptParams {
  for (const name of ['ln', 'r', 'p'] as const) {
    const value = params[name];
    const [min, max] = LIMITS[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`scrypt parameter ${name} must be a whole number from ${min} to ${max}`);
    }
  }
  return params;
}

/**
 * Parse a stored hash. Returns `undefined` for anything malformed; the
 * message never repeats the hash (it is a secret too).
 */
export function parsePasswordHash(encoded: string): PasswordHash | undefined {
  const match = FORMAT.exec(encoded);
  if (!match) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  try {
    checkParams(params);
  } catch {
    return undefined;
  }
  const salt = Buffer.from(match[4], 'base64');
  const key = Buffer.from(match[5], 'base64');
  if (salt.length < 8 || key.length < KEY_BYTES) return undefined;
  return { params, salt, key };
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyBytes: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  // scrypt needs about 128·N·r bytes; Node refuses above `maxmem` (32 MiB by
  // default, exactly the production setting), so give it room explicitly.
  const maxmem = 256 * N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hash a password with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64').replace(/=+$/, '')}$${key
    .toString('base64')
    .replace(/=+$/, '')}`;
}

/**
 * Compare a password with a parsed hash in constant time. Always runs the
 * full derivation, so a caller can also use it as the dummy work for an
 * unknown user.
 */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.params, hash.key.length);
  return timingSafeEqual(key, hash.key);
}

/**
 * A hash nobody can match (random key), with the given parameters: checking
 * a password against it costs exactly what checking a real one costs.
 */
export function dummyHash(params: ScryptParams = DEFAULT_SCRYPT): PasswordHash {
  return { params: checkParams(params), salt: randomBytes(SALT_BYTES), key: randomBytes(KEY_BYTES) };
}

/**
 * Bounds how many scrypt derivations run at once. Each takes a libuv pool
 * thread (4 by default) and N·r·128 bytes; a burst of logins must not starve
 * file I/O, which shares that pool.
 */
export class HashGate {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit = 2) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.queue.shift()?.();
    }
  }
}
