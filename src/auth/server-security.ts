/**
 * Turns the security settings (users file, anonymous access, TLS files)
 * into what `FileServer.start` takes, and says in the log what a stranger
 * on the network could do with the result.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../logging/log';
import type { Permission } from '../core/access';
import type { Storage } from '../storage/storage';
import type { ServerCoreOptions } from '../core/server-core';
import type { SharedLimits } from '../core/shared-limits';
import type { Clock } from '../util/clock';
import { Accounts } from './accounts';
import type { LoginPolicy } from './login-guard';
import { loadTlsFiles, type TlsCredentials } from './tls-files';

/** The users file looked for in the working folder when `--users` is not given. */
export const DEFAULT_USERS_FILE_NAME = 'users.json';

export interface SecuritySettings {
  root: string;
  /** The served files when they are not the local `root` (S3): homes are scoped from it. */
  storage?: Storage;
  host: string;
  /** `--users` as given; absent: `users.json` in `cwd` if it exists, else no accounts. */
  usersFile?: string;
  anonymous?: { permissions: Permission[]; home: string };
  loginPolicy?: Partial<LoginPolicy>;
  tls?: { certFile: string; keyFile: string; passphrase?: string };
  /** A cluster's failed-login counts and bans (Redis), shared with the other nodes. */
  sharedLimits?: SharedLimits;
  /** Folder the default users file is looked for in. */
  cwd?: string;
  clock?: Clock;
}

/** The part of {@link FileServerOptions} that security decides. */
export type SecurityOptions = Pick<ServerCoreOptions, 'authenticator' | 'guestStorage' | 'bans'> & { tls?: TlsCredentials };

/**
 * Load accounts and TLS files (every failure is a plain Error for the
 * operator: do not start), log what was set up, and warn about exposure.
 */
export async function prepareSecurity(settings: SecuritySettings, log: Log): Promise<{ options: SecurityOptions; accounts?: Accounts }> {
  const options: SecurityOptions = {};
  const defaultFile = path.join(settings.cwd ?? process.cwd(), DEFAULT_USERS_FILE_NAME);
  const usersFile = settings.usersFile ?? (existsSync(defaultFile) ? defaultFile : undefined);
  let accounts: Accounts | undefined;
  if (usersFile !== undefined || settings.anonymous) {
    accounts = await Accounts.open({
      root: settings.root,
      ...(settings.storage ? { storage: settings.storage } : {}),
      ...(usersFile !== undefined ? { usersFile } : {}),
      ...(settings.anonymous ? { anonymous: settings.anonymous } : {}),
      ...(settings.loginPolicy ? { policy: settings.loginPolicy } : {}),
      ...(settings.clock ? { clock: settings.clock } : {}),
      ...(settings.sharedLimits ? { sharedLimits: settings.sharedLimits } : {}),
      log,
    });
    options.authenticator = accounts;
    options.guestStorage = accounts.guestStorage;
    options.bans = accounts;
    const anon = settings.anonymous
      ? `; anonymous access (${settings.anonymous.permissions.join(',') || 'none'}) to /${settings.anonymous.home === '/' ? '' : settings.anonymous.home}`
      : '; login required';
    log.info(`Accounts on: ${accounts.userCount} user(s)${usersFile !== undefined ? ` from ${usersFile}` : ''}${anon}`);
  }
  if (settings.tls) {
    const loaded = await loadTlsFiles(settings.tls.certFile, settings.tls.keyFile, settings.tls.passphrase);
    options.tls = { cert: loaded.cert, key: loaded.key, ...(loaded.passphrase ? { passphrase: loaded.passphrase } : {}) };
    log.info(loaded.summary);
    for (const warning of loaded.warnings) log.warn(warning);
  }
  if (!isLoopback(settings.host)) {
    if (!accounts) {
      log.warn(
        `Anyone who can reach ${settings.host} can read, change and delete every file served: ` +
          'add accounts (ftp-server user add NAME) and TLS (ftp-server cert, --tls-cert, --tls-key) before opening the port to a network',
      );
    } else if (!options.tls) {
      log.warn('Passwords and files cross the network unencrypted: add --tls-cert and --tls-key (ftp-server cert makes a pair)');
    }
  }
  return { options, ...(accounts ? { accounts } : {}) };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
