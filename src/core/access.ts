import type { Storage } from '../storage/storage';

/** What a logged-in user may do; each command declares the one it needs. */
export type Permission = 'read' | 'write' | 'delete' | 'mkdir' | 'rename';

export const ALL_PERMISSIONS: readonly Permission[] = ['read', 'write', 'delete', 'mkdir', 'rename'];

/** A user after a successful `AUTH`: a name, permissions and their own view of the files. */
export interface Principal {
  readonly name: string;
  readonly permissions: ReadonlySet<Permission>;
  /** Storage rooted at the user's home folder: they see it as `/`. */
  readonly storage: Storage;
}

/**
 * Checks credentials. When `required`, every command but those marked
 * `public` answers `401` until a login succeeds. `login` throws a
 * `ProtocolError` (401 wrong credentials) and may take its time doing so.
 */
export interface Authenticator {
  readonly required: boolean;
  login(username: string, password: string, ip: string): Promise<Principal>;
}

/** The session as a command sees it. */
export interface SessionInfo {
  /** `IP:PORT` of the client. */
  readonly remote: string;
  /** The client's IP, normalised (`::ffff:` stripped). */
  readonly ip: string;
  /** Who is logged in, if anyone. */
  readonly principal: Principal | undefined;
  /** Record a successful login: later commands run as this user. */
  login(principal: Principal): void;
}
