import { promises as fsp } from 'node:fs';
import type { Log } from '../logging/log';
import { DEFAULT_SCRYPT, parsePasswordHash, type ScryptParams } from './password-hash';
import { loadUsersFile, type UserRecord, type UsersData } from './users-file';

/**
 * The accounts of a users file, kept current: before each lookup the file is
 * `stat`ed, and re-read when it changed, so `ftp-server user add|passwd|del`
 * takes effect at the next login without a restart. A file that became
 * unreadable or invalid is reported once and the last good accounts stay in
 * force (the CLI writes atomically, so this only happens on a hand edit).
 */
export class UserDirectory {
  private signature: string;
  private reloading: Promise<void> | undefined;
  private brokenSignature: string | undefined;
  private typical: ScryptParams | undefined;

  private constructor(
    readonly file: string,
    private data: UsersData,
    signature: string,
    private readonly log: Log,
  ) {
    this.signature = signature;
  }

  /**
   * Load the file once; errors here are fatal for the caller (a server
   * should not start with a broken users file).
   */
  static async open(file: string, log: Log): Promise<UserDirectory> {
    const signature = await signatureOf(file);
    const data = await loadUsersFile(file);
    return new UserDirectory(file, data, signature ?? '', log);
  }

  /** Names of the accounts, sorted. */
  get names(): string[] {
    return [...this.data.users.keys()].sort();
  }

  /** Every account, as last loaded. */
  get users(): ReadonlyMap<string, UserRecord> {
    return this.data.users;
  }

  /**
   * The scrypt parameters most accounts use. Checking an unknown name costs
   * one derivation with these, so it takes as long as a wrong password.
   */
  get typicalParams(): ScryptParams {
    this.typical ??= this.countParams();
    return this.typical;
  }

  private countParams(): ScryptParams {
    const counts = new Map<string, { params: ScryptParams; n: number }>();
    for (const user of this.data.users.values()) {
      const params = parsePasswordHash(user.password)?.params;
      if (!params) continue;
      const key = `${params.ln},${params.r},${params.p}`;
      const entry = counts.get(key) ?? { params, n: 0 };
      entry.n += 1;
      counts.set(key, entry);
    }
    let best: { params: ScryptParams; n: number } | undefined;
    for (const entry of counts.values()) if (!best || entry.n > best.n) best = entry;
    return best?.params ?? DEFAULT_SCRYPT;
  }

  /** The account called `name`, after picking up any change to the file. */
  async lookup(name: string): Promise<UserRecord | undefined> {
    await this.refresh();
    return this.data.users.get(name);
  }

  /** Re-read the file if it changed since the last read. */
  async refresh(): Promise<void> {
    this.reloading ??= this.reloadIfChanged().finally(() => {
      this.reloading = undefined;
    });
    await this.reloading;
  }

  private async reloadIfChanged(): Promise<void> {
    const signature = await signatureOf(this.file);
    if (signature === this.signature || signature === this.brokenSignature) return;
    if (signature === undefined) {
      this.brokenSignature = signature;
      this.log.error(`Users file ${this.file} is gone; keeping the ${this.data.users.size} account(s) loaded before`);
      return;
    }
    try {
      this.data = await loadUsersFile(this.file);
      this.typical = undefined;
      this.signature = signature;
      this.brokenSignature = undefined;
      this.log.info(`Reloaded users file ${this.file}: ${this.data.users.size} account(s)`);
    } catch (err) {
      this.brokenSignature = signature;
      this.log.error(`Users file ${this.file} changed but cannot be used; keeping the accounts loaded before: ${(err as Error).message}`);
    }
  }
}

/** Identity of one version of the file; `undefined` when it cannot be stat'ed. */
async function signatureOf(file: string): Promise<string | undefined> {
  try {
    const s = await fsp.stat(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}
