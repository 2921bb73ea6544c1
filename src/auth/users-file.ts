/**
 * The users file: JSON, one entry per account with a scrypt hash, a home
 * folder (a path under the served root, in the protocol's own syntax) and a
 * permission set. Read strictly; written atomically (temp file + rename) with
 * mode 0600, since the hashes are secrets too.
 *
 * ```json
 * { "version": 1,
 *   "users": { "alice": { "password": "$scrypt$ln=15,r=8,p=1$…$…",
 *                         "home": "alice", "permissions": ["read", "write"] } } }
 * ```
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ALL_PERMISSIONS, type Permission } from '../core/access';
import { parseClientPath } from '../storage/path-rules';
import { parsePasswordHash } from './password-hash';

/** One account as stored. */
export interface UserRecord {
  /** The scrypt hash (see `password-hash.ts`). */
  password: string;
  /** Home folder under the served root, `/`-separated; `/` is the root itself. */
  home: string;
  permissions: Permission[];
}

/** The whole file, users by name. */
export interface UsersData {
  users: Map<string, UserRecord>;
}

/** A users file that cannot be used; the message names the file and the problem, never a secret. */
export class UsersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsersFileError';
  }
}

const FILE_VERSION = 1;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Names with a meaning of their own: `anonymous` is the guest login. */
export const RESERVED_NAMES: readonly string[] = ['anonymous'];

/** Why `name` cannot be a user name, or `undefined` when it can. */
export function userNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) {
    return 'a user name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit';
  }
  if (RESERVED_NAMES.includes(name.toLowerCase())) return `'${name}' is reserved`;
  return undefined;
}

/**
 * Parse a comma-separated permission list (`read,write`); `all` means every
 * permission and `none` (or an empty list) none.
 * @throws Error naming the unknown permission.
 */
export function parsePermissions(text: string): Permission[] {
  const words = text.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w.length > 0);
  if (words.length === 1 && words[0] === 'all') return [...ALL_PERMISSIONS];
  if (words.length === 1 && words[0] === 'none') return [];
  const out = new Set<Permission>();
  for (const word of words) {
    if (!(ALL_PERMISSIONS as readonly string[]).includes(word)) {
      throw new Error(`unknown permission '${word}' (known: ${ALL_PERMISSIONS.join(', ')}, or all, none)`);
    }
    out.add(word as Permission);
  }
  return ALL_PERMISSIONS.filter((p) => out.has(p));
}

/**
 * Normalise a home folder: a path under the served root in the protocol's
 * syntax (`alice`, `/team/alice`, `/` for the root). No `..`, no absolute
 * server path: a home can never name a folder outside the root.
 * @throws Error when the path breaks the rules.
 */
export function normaliseHome(home: string): string {
  let parts: readonly string[];
  try {
    parts = parseClientPath(home);
  } catch (err) {
    throw new Error(`invalid home '${home}': ${(err as Error).message.replace(/^Invalid path: /, '')}; use a folder under the served root, like alice or /team/alice`);
  }
  return parts.length === 0 ? '/' : parts.join('/');
}

/**
 * Parse and check the file's text. Every problem is reported with the
 * user's name, never with the hash.
 */
export function parseUsersFile(text: string, file: string): UsersData {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsersFileError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json) || !isObject(json.users)) throw new UsersFileError(`${file}: expected {"version": 1, "users": {...}}`);
  if (json.version !== FILE_VERSION) throw new UsersFileError(`${file}: unsupported version ${String(json.version)} (expected ${FILE_VERSION})`);
  const users = new Map<string, UserRecord>();
  for (const [name, entry] of Object.entries(json.users)) {
    const problem = userNameProblem(name);
    const bad = (why: string) => new UsersFileError(`${file}: user '${name.slice(0, 64)}': ${why}`);
    if (problem) throw bad(problem);
    if (!isObject(entry)) throw bad('expected an object');
    if (typeof entry.password !== 'string' || !parsePasswordHash(entry.password)) throw bad('password is not a valid scrypt hash');
    if (typeof entry.home !== 'string') throw bad('home must be a string');
    if (!Array.isArray(entry.permissions) || !entry.permissions.every((p) => typeof p === 'string')) {
      throw bad('permissions must be a list of names');
    }
    let home: string;
    let permissions: Permission[];
    try {
      home = normaliseHome(entry.home);
      permissions = entry.permissions.length === 0 ? [] : parsePermissions(entry.permissions.join(','));
    } catch (err) {
      throw bad((err as Error).message);
    }
    users.set(name, { password: entry.password, home, permissions });
  }
  return { users };
}

/** The file's text for `data`, stable and readable. */
export function formatUsersFile(data: UsersData): string {
  const users: Record<string, UserRecord> = {};
  for (const name of [...data.users.keys()].sort()) {
    const u = data.users.get(name)!;
    users[name] = { password: u.password, home: u.home, permissions: [...u.permissions] };
  }
  return `${JSON.stringify({ version: FILE_VERSION, users }, null, 2)}\n`;
}

/**
 * Read the users file.
 * @throws UsersFileError when it is missing, unreadable or invalid.
 */
export async function loadUsersFile(file: string): Promise<UsersData> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsersFileError(`${file}: no such file (create it with: ftp-server user add NAME --users ${file})`);
    throw new UsersFileError(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseUsersFile(text, file);
}

/** An empty set of users, for a file about to be created. */
export function emptyUsers(): UsersData {
  return { users: new Map() };
}

/**
 * Write the file atomically: a temporary file in the same folder, created
 * with mode 0600 and fsynced, renamed over the target. Readers (the running
 * server) see the old file or the new one, never half of one.
 */
export async function saveUsersFile(file: string, data: UsersData): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    // The umask cannot widen 0600, but a pre-set ACL or odd umask could narrow
    // it oddly: make the mode exact.
    await handle.chmod(0o600);
    await handle.writeFile(formatUsersFile(data), 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** How long a lock file may sit before it counts as left by a killed process. */
const STALE_LOCK_MS = 30_000;

/**
 * Run `task` holding `FILE.lock` (created exclusively), so two `user`
 * commands at once cannot lose each other's change.
 */
export async function withUsersLock<T>(file: string, task: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await (await fsp.open(lock, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await fsp.stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS) {
        await fsp.unlink(lock).catch(() => undefined);
      } else if (attempt >= 40) {
        throw new UsersFileError(`${file}: another 'ftp-server user' command holds ${lock}; try again (or remove it if no such command runs)`);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
  try {
    return await task();
  } finally {
    await fsp.unlink(lock).catch(() => undefined);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
