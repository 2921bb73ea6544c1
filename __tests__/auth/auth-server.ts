import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Accounts, type AnonymousAccess } from '../../src/auth/accounts';
import type { LoginPolicy } from '../../src/auth/login-guard';
import { hashPassword, type ScryptParams } from '../../src/auth/password-hash';
import { saveUsersFile, type UsersData } from '../../src/auth/users-file';
import type { ServerLimits } from '../../src/config/defaults';
import { MemoryLog } from '../../src/logging/log';
import type { Permission } from '../../src/core/access';
import type { SharedLimits } from '../../src/core/shared-limits';
import { FileServer, type TlsCredentials } from '../../src/server/file-server';
import type { Clock } from '../../src/util/clock';

/** Cheap scrypt for tests: the code path is the production one, the cost is not. */
export const TEST_SCRYPT: ScryptParams = { ln: 4, r: 8, p: 1 };

export interface TestUser {
  name: string;
  password: string;
  permissions?: Permission[];
  home?: string;
}

/** A real server with accounts on 127.0.0.1, port 0, a temp root and a users file beside it. */
export interface AuthServer {
  server: FileServer;
  accounts: Accounts;
  port: number;
  root: string;
  /** A folder outside the root. */
  outside: string;
  usersFile: string;
  log: MemoryLog;
  stop(): Promise<void>;
}

/** Write a users file for `users` (hashed with {@link TEST_SCRYPT}). */
export async function writeUsers(file: string, users: TestUser[]): Promise<void> {
  const data: UsersData = { users: new Map() };
  for (const u of users) {
    data.users.set(u.name, {
      password: await hashPassword(u.password, TEST_SCRYPT),
      home: u.home ?? u.name,
      permissions: u.permissions ?? ['read', 'write', 'delete', 'mkdir', 'rename'],
    });
  }
  await saveUsersFile(file, data);
}

export async function startAuthServer(options: {
  users?: TestUser[];
  anonymous?: AnonymousAccess;
  policy?: Partial<LoginPolicy>;
  clock?: Clock;
  tls?: TlsCredentials;
  limits?: Partial<ServerLimits>;
  /** scrypt runs at once, all addresses together (the server's default is 2). */
  maxConcurrentHashes?: number;
  /** Failed logins, bans and per-IP limits shared with other servers (a cluster). */
  sharedLimits?: SharedLimits;
  /** Runs after the folders exist, before the server starts (symlinks, files). */
  prepare?: (dirs: { root: string; outside: string }) => Promise<void>;
} = {}): Promise<AuthServer> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-auth-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  await options.prepare?.({ root, outside });
  const usersFile = path.join(base, 'users.json');
  if (options.users) await writeUsers(usersFile, options.users);
  const log = new MemoryLog();
  const accounts = await Accounts.open({
    root,
    ...(options.users ? { usersFile } : {}),
    ...(options.anonymous ? { anonymous: options.anonymous } : {}),
    policy: { failureDelayMs: 0, maxFailureDelayMs: 0, ...options.policy },
    scrypt: TEST_SCRYPT,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxConcurrentHashes ? { maxConcurrentHashes: options.maxConcurrentHashes } : {}),
    ...(options.sharedLimits ? { sharedLimits: options.sharedLimits } : {}),
    log,
  });
  const server = await FileServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    log,
    ...(options.clock ? { clock: options.clock } : {}),
    limits: { shutdownGraceMs: 2_000, ...options.limits },
    authenticator: accounts,
    guestStorage: accounts.guestStorage,
    bans: accounts,
    ...(options.sharedLimits ? { sharedLimits: options.sharedLimits } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return {
    server,
    accounts,
    port: server.port,
    root,
    outside,
    usersFile,
    log,
    async stop() {
      await server.close(1_000);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** Every logged line as one text, for "this never appears in the log" checks. */
export function logText(log: MemoryLog): string {
  return log.lines.map((l) => `${l.level} [${l.label}] ${l.message}`).join('\n');
}
