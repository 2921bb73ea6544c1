/**
 * `ftp-server user add|passwd|del|list|set NAME`: manage the users file.
 * Passwords come from a no-echo prompt on a terminal, or from standard input
 * with `--password-stdin` (for scripts); they are never taken as an argument,
 * where `ps` and shell history would keep them.
 */
import type { Argv } from 'yargs';
import { ALL_PERMISSIONS } from '../core/access';
import { DEFAULT_SCRYPT, hashPassword, MAX_PASSWORD_BYTES, type ScryptParams } from '../auth/password-hash';
import {
  emptyUsers,
  loadUsersFile,
  normaliseHome,
  parsePermissions,
  saveUsersFile,
  userNameProblem,
  UsersFileError,
  withUsersLock,
  type UsersData,
} from '../auth/users-file';
import { promptHidden, PromptCancelled, type PromptInput } from '../client/ui/hidden-prompt';

/** The file `user` commands and the server use when `--users` is not given. */
export const DEFAULT_USERS_FILE = 'users.json';
/** Shortest password accepted: anything shorter falls to a guess list. */
export const MIN_PASSWORD_LENGTH = 8;

const ACTIONS = ['add', 'passwd', 'del', 'list', 'set'] as const;
type Action = (typeof ACTIONS)[number];

/** Standard streams, injectable for tests. */
export interface UserCliIo {
  stdin: PromptInput;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Parsed arguments of `ftp-server user`. */
export interface UserArgs {
  action: string;
  name?: string;
  users: string;
  perms?: string;
  home?: string;
  'password-stdin': boolean;
  'scrypt-ln': number;
}

/** Declare `user`'s positionals and options on a yargs (sub)command. */
export function declareUserCommand<T>(yargs: Argv<T>) {
  return yargs
    .positional('action', { choices: ACTIONS, describe: 'add, passwd (change password), del, list, set (change --perms/--home)', type: 'string', demandOption: true })
    .positional('name', { type: 'string', describe: 'user name (not for list)' })
    .option('users', { type: 'string', default: DEFAULT_USERS_FILE, describe: 'Users file (written atomically, mode 0600)' })
    .option('perms', {
      type: 'string',
      describe: `Permissions: a comma list of ${ALL_PERMISSIONS.join(', ')}; or all, none (add: all). ` +
        'Replacing an existing file (PUT over it, RENAME onto it) also needs delete',
    })
    .option('home', { type: 'string', describe: 'Home folder under the served root, seen as / (add: the user name; / for the whole root)' })
    .option('password-stdin', { type: 'boolean', default: false, describe: 'Read the password from standard input instead of a prompt' })
    .option('scrypt-ln', { type: 'number', default: DEFAULT_SCRYPT.ln, describe: 'scrypt cost as log2(N); lower only for tests' });
}

/** Run one `user` action; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runUserCommand(args: UserArgs, io: UserCliIo): Promise<number> {
  const fail = (message: string, code = 1) => {
    io.stderr.write(`ftp-server user: ${message}\n`);
    return code;
  };
  const action = args.action as Action;
  if (!ACTIONS.includes(action)) return fail(`unknown action '${args.action}' (${ACTIONS.join(', ')})`, 2);
  if (action === 'list') return list(args.users, io).catch((err: Error) => fail(err.message));
  const name = args.name;
  if (name === undefined || name === '') return fail(`${action} needs a user name`, 2);
  const problem = userNameProblem(name);
  if (problem && action === 'add') return fail(problem, 2);
  let params: ScryptParams;
  try {
    params = { ...DEFAULT_SCRYPT, ln: args['scrypt-ln'] };
    if (!Number.isInteger(params.ln) || params.ln < 1 || params.ln > 20) throw new Error('--scrypt-ln must be a whole number from 1 to 20');
    if (args.perms !== undefined) parsePermissions(args.perms);
    if (args.home !== undefined) normaliseHome(args.home);
  } catch (err) {
    return fail((err as Error).message, 2);
  }
  try {
    // Ask for the password before taking the lock: a person may take a while.
    const password = action === 'add' || action === 'passwd' ? await readNewPassword(name, args['password-stdin'], io) : undefined;
    const message = await withUsersLock(args.users, async () => {
      const data = await loadOrCreate(args.users, action === 'add');
      const text = await apply(action, name, data, args, password, params);
      await saveUsersFile(args.users, data);
      return text;
    });
    io.stdout.write(`${message}\n`);
    return 0;
  } catch (err) {
    if (err instanceof PromptCancelled) return fail('cancelled');
    return fail((err as Error).message);
  }
}

async function apply(action: Action, name: string, data: UsersData, args: UserArgs, password: string | undefined, params: ScryptParams): Promise<string> {
  const existing = data.users.get(name);
  if (action !== 'add' && !existing) throw new Error(`no user '${name}' in ${args.users}`);
  switch (action) {
    case 'add': {
      if (existing) throw new Error(`user '${name}' already exists in ${args.users} (use passwd or set to change it)`);
      const home = normaliseHome(args.home ?? name);
      const permissions = args.perms !== undefined ? parsePermissions(args.perms) : [...ALL_PERMISSIONS];
      data.users.set(name, { password: await hashPassword(password!, params), home, permissions });
      return `Added user ${name} (home ${shownHome(home)}, permissions ${shownPerms(permissions)}) to ${args.users}`;
    }
    case 'passwd':
      existing!.password = await hashPassword(password!, params);
      return `Changed the password of ${name}`;
    case 'del':
      data.users.delete(name);
      return `Deleted user ${name} (their home folder ${shownHome(existing!.home)} and its files are left in place)`;
    case 'set': {
      if (args.perms === undefined && args.home === undefined) throw new Error('set needs --perms and/or --home');
      if (args.perms !== undefined) existing!.permissions = parsePermissions(args.perms);
      if (args.home !== undefined) existing!.home = normaliseHome(args.home);
      return `Updated ${name} (home ${shownHome(existing!.home)}, permissions ${shownPerms(existing!.permissions)})`;
    }
    default:
      throw new Error(`unknown action ${String(action)}`);
  }
}

async function list(file: string, io: UserCliIo): Promise<number> {
  const data = await loadUsersFile(file);
  const rows = [...data.users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, u]) => [name, shownHome(u.home), shownPerms(u.permissions)] as const);
  if (rows.length === 0) {
    io.stdout.write(`No users in ${file}\n`);
    return 0;
  }
  const head = ['USER', 'HOME', 'PERMISSIONS'] as const;
  const width = [0, 1].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  for (const row of [head, ...rows]) io.stdout.write(`${row[0].padEnd(width[0])}  ${row[1].padEnd(width[1])}  ${row[2]}\n`);
  return 0;
}

async function loadOrCreate(file: string, mayCreate: boolean): Promise<UsersData> {
  try {
    return await loadUsersFile(file);
  } catch (err) {
    if (mayCreate && err instanceof UsersFileError && /no such file/.test(err.message)) return emptyUsers();
    throw err;
  }
}

/** A new password from stdin or a double prompt, checked for length. */
async function readNewPassword(name: string, fromStdin: boolean, io: UserCliIo): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = (await readAll(io.stdin, MAX_PASSWORD_BYTES + 2)).replace(/\r?\n$/, '');
  } else if (io.stdin.isTTY) {
    password = await promptHidden(io.stdin, io.stderr, `Password for ${name}: `);
    const again = await promptHidden(io.stdin, io.stderr, 'Repeat it: ');
    if (again !== password) throw new Error('the two passwords differ; nothing changed');
  } else {
    throw new Error('no terminal to ask for the password on: pass --password-stdin and write it to standard input');
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new Error(`the password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  return password;
}

/** Standard input as text, refusing more than `max` bytes. */
function readAll(input: NodeJS.ReadableStream, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    input.on('data', (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > max) {
        input.pause();
        reject(new Error(`the password on standard input is longer than ${MAX_PASSWORD_BYTES} bytes`));
        return;
      }
      chunks.push(buffer);
    });
    input.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    input.once('error', reject);
    input.resume();
  });
}

function shownHome(home: string): string {
  return home === '/' ? '/ (the whole root)' : `/${home}`;
}

function shownPerms(perms: readonly string[]): string {
  return perms.length === 0 ? 'none' : perms.join(',');
}
