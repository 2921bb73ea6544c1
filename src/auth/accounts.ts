/**
 * Accounts: the {@link Authenticator} the server uses when a users file (or
 * anonymous access) is configured. It checks passwords against scrypt
 * hashes, hands out principals whose storage is rooted at their home folder,
 * and applies the brute-force defence of {@link LoginGuard}.
 */
import { promises as fsp } from 'node:fs';
import { silentLog, type Log } from '../logging/log';
import { AuthError } from './errors';
import type { Authenticator, Permission, Principal } from '../core/access';
import type { SharedLimits } from '../core/shared-limits';
import type { Storage } from '../storage/storage';
import { addressKey } from '../util/address-key';
import { systemClock, type Clock } from '../util/clock';
import { HomeFolderError, HomeFolders } from './home-folders';
import { LoginGuard, type LoginPolicy } from './login-guard';
import { DEFAULT_SCRYPT, dummyHash, HashGate, MAX_PASSWORD_BYTES, parsePasswordHash, verifyPassword, type PasswordHash, type ScryptParams } from './password-hash';
import { PermissionStorage } from './permission-storage';
import { UserDirectory } from './user-directory';
import { normaliseHome, type UserRecord } from './users-file';

/** The user name of the guest login, when anonymous access is on. */
export const ANONYMOUS_USER = 'anonymous';

/** Anonymous access: who needs no password, and what they may do. */
export interface AnonymousAccess {
  /** Default: `['read']`. */
  permissions?: Permission[];
  /** Folder under the served root they see as `/`; default the root itself. */
  home?: string;
}

export interface AccountsOptions {
  /** The served root (a local folder); homes live under it. Ignored when `storage` is given. */
  root?: string;
  /** The served root as a storage of any backend; homes are scoped from it. */
  storage?: Storage;
  /** The users file; absent for anonymous-only access. */
  usersFile?: string;
  /** Turn on anonymous access (no AUTH needed; read-only unless told otherwise). */
  anonymous?: AnonymousAccess;
  /** Parameters of the dummy hash checked for unknown users when the file has no accounts to copy them from. */
  scrypt?: ScryptParams;
  policy?: Partial<LoginPolicy>;
  /**
   * Failed-login counts and bans shared by the nodes of a cluster (Redis):
   * failures through any node count toward one ban, which every node honours.
   */
  sharedLimits?: SharedLimits;
  clock?: Clock;
  log?: Log;
  /** scrypt derivations at once (each takes a libuv pool thread). */
  maxConcurrentHashes?: number;
}

const WRONG = 'Wrong user name or password';
const BANNED = 'Too many failed logins from your address; try again later';
const BUSY = 'Too many logins in progress from your address; try again later';

/** See the module comment. Build with {@link Accounts.open}. */
export class Accounts implements Authenticator {
  readonly required: boolean;
  readonly guard: LoginGuard;
  /** What a session sees before any AUTH: the anonymous view, or nothing (401). */
  readonly guestStorage: Storage;
  private readonly gate: HashGate;
  private readonly fallbackParams: ScryptParams;
  private dummy: PasswordHash | undefined;
  private readonly anonymousPermissions: ReadonlySet<Permission> | undefined;

  private constructor(
    private readonly homes: HomeFolders,
    private readonly directory: UserDirectory | undefined,
    private readonly anonymousStorage: Storage | undefined,
    anonymousPermissions: Permission[] | undefined,
    private readonly clock: Clock,
    private readonly log: Log,
    options: AccountsOptions,
  ) {
    this.required = anonymousStorage === undefined;
    this.guard = new LoginGuard(clock, options.policy, options.sharedLimits);
    this.gate = new HashGate(options.maxConcurrentHashes ?? 2);
    this.fallbackParams = options.scrypt ?? DEFAULT_SCRYPT;
    this.anonymousPermissions = anonymousPermissions && new Set(anonymousPermissions);
    // Before login without anonymous access: nothing at all (401), also as a
    // backstop behind the session's own check.
    this.guestStorage = anonymousStorage ?? new PermissionStorage(homes.rootStorage, new Set(), 'anyone before login', true);
  }

  /**
   * Load the users file, check every home, and prepare the anonymous view.
   * @throws UsersFileError / HomeFolderError (fatal: do not start the server).
   */
  static async open(options: AccountsOptions): Promise<Accounts> {
    const log = options.log ?? silentLog;
    const homes = options.storage ? new HomeFolders(options.storage) : await HomeFolders.open(requireRoot(options));
    let directory: UserDirectory | undefined;
    if (options.usersFile !== undefined) {
      directory = await UserDirectory.open(options.usersFile, log);
      await warnIfExposed(options.usersFile, log);
      for (const [name, user] of directory.users) {
        await homes.storageFor(user.home).catch((err: unknown) => {
          // One bad home must not lock every other user out: that user's
          // logins fail (500) and the log says why.
          log.error(`User ${name}: ${(err as Error).message}`);
        });
      }
    }
    let anonymousStorage: Storage | undefined;
    let anonymousPermissions: Permission[] | undefined;
    if (options.anonymous) {
      anonymousPermissions = options.anonymous.permissions ?? ['read'];
      const home = normaliseHome(options.anonymous.home ?? '/');
      const storage = await homes.storageFor(home);
      anonymousStorage = new PermissionStorage(storage, new Set(anonymousPermissions), 'anonymous users (log in with AUTH)');
      const exposed = directory?.names.filter((n) => isUnder(directory.users.get(n)!.home, home)) ?? [];
      if (exposed.length > 0) {
        log.warn(`Anonymous users can ${anonymousPermissions.join('/') || 'see'} the home folders of: ${exposed.join(', ')} (set --anonymous-home to a folder of its own)`);
      }
    } else if (directory && directory.users.size === 0) {
      log.warn(`Users file ${options.usersFile} holds no accounts: nobody can log in (add one with: ftp-server user add NAME --users ${options.usersFile})`);
    }
    return new Accounts(homes, directory, anonymousStorage, anonymousPermissions, options.clock ?? systemClock, log, options);
  }

  /** Number of accounts in the users file. */
  get userCount(): number {
    return this.directory?.users.size ?? 0;
  }

  /** True while `ip` is banned for failed logins (its greeting is `429`). */
  isBanned(ip: string): boolean {
    return this.guard.isBanned(ip);
  }

  async login(username: string, password: string, ip: string): Promise<Principal> {
    if (await this.guard.checkBanned(ip)) return this.refuseBanned();
    if (this.anonymousPermissions && username.toLowerCase() === ANONYMOUS_USER) {
      return { name: ANONYMOUS_USER, permissions: this.anonymousPermissions, storage: this.anonymousStorage! };
    }
    // Known and unknown names queue alike, so the wait reveals nothing either.
    const leave = await this.guard.enter(ip);
    if (!leave) return this.refuseUnchecked('busy', BUSY);
    let user: UserRecord | undefined;
    try {
      // The ban may have begun while this login waited for its turn (here or on another node).
      user = (await this.guard.checkBanned(ip)) ? undefined : await this.check(username, password, ip);
    } finally {
      leave();
    }
    if (!user) return this.refuseBanned();
    const permissions = new Set(user.permissions);
    let storage: Storage;
    try {
      storage = await this.homes.storageFor(user.home);
    } catch (err) {
      this.log.error(`User ${username} cannot log in: ${err instanceof HomeFolderError ? err.message : String(err)}`);
      throw new AuthError('unavailable', 'Internal server error');
    }
    return { name: username, permissions, storage: new PermissionStorage(storage, permissions, 'this user') };
  }

  /**
   * The password check proper, during the address's turn: the failure is
   * counted the moment it is known (so the next login in line already sees
   * a ban it caused), and its delay is served before the turn ends (so
   * parallel connections cannot skip the delays). `undefined` when the
   * address was banned meanwhile.
   */
  private async check(username: string, password: string, ip: string): Promise<UserRecord | undefined> {
    const user = await this.directory?.lookup(username);
    const stored = user && parsePasswordHash(user.password);
    const usable = Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
    // The same scrypt work whether or not the user exists: a wrong name and
    // a wrong password must take the same time.
    const matches = await this.gate.run(() => verifyPassword(usable ? password : '', stored ?? this.dummyHash()));
    const right = user !== undefined && stored !== undefined && usable && matches;
    if (await this.guard.checkBanned(ip)) {
      // Banned while this password was hashed (by a guess checked beside
      // it): no login, not even with the right password.
      if (right) {
        this.log.warn(`Refused the right password for '${printable(username)}' from ${ip}: the address was banned while it was checked`);
      }
      return undefined;
    }
    if (!right) return this.fail(username, ip);
    this.guard.recordSuccess(ip);
    return user;
  }

  /** A hash nobody matches, with the parameters most accounts use. */
  private dummyHash(): PasswordHash {
    const params = this.directory?.typicalParams ?? this.fallbackParams;
    const current = this.dummy?.params;
    if (!current || current.ln !== params.ln || current.r !== params.r || current.p !== params.p) this.dummy = dummyHash(params);
    return this.dummy!;
  }

  private async fail(username: string, ip: string): Promise<never> {
    const verdict = await this.guard.countFailure(ip);
    const { windowMs, banMs } = this.guard.policy;
    this.log.warn(
      `Failed login as '${printable(username)}' from ${ip} (${verdict.failures} in the last ${windowMs / 1000} s); answering in ${verdict.delayMs} ms`,
    );
    if (verdict.banned) {
      const key = addressKey(ip);
      const whole = key === ip ? '' : ` (all of ${key})`;
      this.log.warn(`Banned ${ip}${whole} for ${banMs / 1000} s after ${verdict.failures} failed logins within ${windowMs / 1000} s: new connections get 429`);
    }
    await this.pause(verdict.delayMs);
    throw new AuthError('login_failed', WRONG);
  }

  /**
   * `401` without any password check, after the longest failure delay: a
   * connection opened before the ban must not keep guessing, nor quickly.
   */
  private refuseBanned(): Promise<never> {
    return this.refuseUnchecked('banned', BANNED);
  }

  private async refuseUnchecked(kind: 'banned' | 'busy', message: string): Promise<never> {
    await this.pause(this.guard.policy.maxFailureDelayMs);
    throw new AuthError(kind, message);
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.clock.setTimer(ms, resolve));
  }
}

function requireRoot(options: AccountsOptions): string {
  if (options.root === undefined) throw new Error('Accounts need the served root: give root or storage');
  return options.root;
}

/** True when home `inner` is `outer` or below it (both normalised). */
function isUnder(inner: string, outer: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(`${outer}/`);
}

/** A client-supplied name, safe for one log line. */
function printable(name: string): string {
  const flat = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return flat.length > 64 ? `${flat.slice(0, 64)}…` : flat;
}

/** The file holds password hashes: say so when others can read it. */
async function warnIfExposed(file: string, log: Log): Promise<void> {
  const stats = await fsp.stat(file).catch(() => undefined);
  if (stats && process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    log.warn(`Users file ${file} is readable by other users (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
}
