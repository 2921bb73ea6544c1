import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { parsePasswordHash, verifyPassword } from '../../src/auth/password-hash';
import { loadUsersFile } from '../../src/auth/users-file';
import { main } from '../../src/cli/server-cli';

let dir: string;
let usersFile: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-user-cli-'));
  usersFile = path.join(dir, 'users.json');
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

class Text extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** `ftp-server ARGS` in-process, with `stdin` as standard input (not a terminal). */
async function run(args: string[], stdin = '') {
  const input = new PassThrough();
  input.end(stdin);
  const stdout = new Text();
  const stderr = new Text();
  const code = await main(args, { stdin: input, stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

const user = (...words: string[]) => ['user', ...words, '--users', usersFile, '--scrypt-ln', '4'];

async function passwordWorks(name: string, password: string): Promise<boolean> {
  const data = await loadUsersFile(usersFile);
  return verifyPassword(password, parsePasswordHash(data.users.get(name)!.password)!);
}

it('adds, lists, changes, re-permissions and deletes users; the file stays 0600 and holds no password', async () => {
  const added = await run(user('add', 'alice', '--password-stdin', '--perms', 'read,write'), 'first-password\n');
  expect(added).toEqual({ code: 0, out: `Added user alice (home /alice, permissions read,write) to ${usersFile}\n`, err: '' });
  expect((await fs.stat(usersFile)).mode & 0o777).toBe(0o600);
  expect(await run(user('add', 'bob', '--password-stdin', '--home', '/'), 'bob-password')).toMatchObject({ code: 0 });
  expect(await passwordWorks('alice', 'first-password')).toBe(true);
  expect(await fs.readFile(usersFile, 'utf8')).not.toContain('first-password');

  const listed = await run(user('list'));
  expect(listed.code).toBe(0);
  expect(listed.out.split('\n')).toEqual([
    'USER   HOME                PERMISSIONS',
    'alice  /alice              read,write',
    'bob    / (the whole root)  read,write,delete,mkdir,rename',
    '',
  ]);
  expect(listed.out).not.toContain('$scrypt$');

  expect(await run(user('passwd', 'alice', '--password-stdin'), 'second-password\r\n')).toEqual({ code: 0, out: 'Changed the password of alice\n', err: '' });
  expect(await passwordWorks('alice', 'second-password')).toBe(true);
  expect(await passwordWorks('alice', 'first-password')).toBe(false);

  expect(await run(user('set', 'alice', '--perms', 'all', '--home', 'team/alice'))).toMatchObject({ code: 0 });
  expect((await loadUsersFile(usersFile)).users.get('alice')).toMatchObject({ home: 'team/alice', permissions: ['read', 'write', 'delete', 'mkdir', 'rename'] });

  expect(await run(user('del', 'bob'))).toMatchObject({ code: 0, out: expect.stringContaining('Deleted user bob') });
  expect([...(await loadUsersFile(usersFile)).users.keys()]).toEqual(['alice']);
  expect((await fs.stat(usersFile)).mode & 0o777).toBe(0o600);
  // Atomic writes leave no temporary file and no lock behind.
  expect(await fs.readdir(dir)).toEqual(['users.json']);
});

it.each([
  [['add', 'alice', '--password-stdin'], 'password-1', 1, /already exists/],
  [['passwd', 'nobody', '--password-stdin'], 'password-1', 1, /no user 'nobody'/],
  [['del', 'nobody'], '', 1, /no user 'nobody'/],
  [['add', 'carol', '--password-stdin', '--perms', 'read,fly'], 'password-1', 2, /unknown permission 'fly'/],
  [['add', 'carol', '--password-stdin', '--home', '../up'], 'password-1', 2, /invalid home/],
  [['add', 'anonymous', '--password-stdin'], 'password-1', 2, /reserved/],
  [['add', 'bad/name', '--password-stdin'], 'password-1', 2, /user name/],
  [['add', 'carol', '--password-stdin'], 'short\n', 1, /at least 8 characters/],
  [['add', 'carol', '--password-stdin'], '', 1, /at least 8 characters/],
  [['add', 'carol'], 'password-1', 1, /no terminal.*--password-stdin/],
  [['set', 'alice'], '', 1, /set needs --perms/],
])('refuses %j with a clear message and leaves the file as it was', async (args, stdin, code, message) => {
  await run(user('add', 'alice', '--password-stdin'), 'alice-password');
  const before = await fs.readFile(usersFile, 'utf8');
  const result = await run(user(...(args)), stdin);
  expect(result.code).toBe(code);
  expect(result.err).toMatch(message);
  expect(result.err).not.toContain('password-1');
  expect(await fs.readFile(usersFile, 'utf8')).toBe(before);
});

it('says how to create the file when it is missing', async () => {
  const result = await run(user('list'));
  expect(result.code).toBe(1);
  expect(result.err).toMatch(/no such file \(create it with: ftp-server user add NAME --users/);
});

it('cert writes a self-signed pair (key 0600) for the given hosts and will not overwrite it', async () => {
  const out = path.join(dir, 'tls');
  const made = await run(['cert', '--out', out, '--host', 'files.example.org', '--host', '192.0.2.7', '--days', '30']);
  expect(made.code).toBe(0);
  expect(made.out).toContain(`--tls-cert ${path.join(out, 'cert.pem')}`);
  expect((await fs.stat(path.join(out, 'key.pem'))).mode & 0o777).toBe(0o600);
  const cert = new X509Certificate(await fs.readFile(path.join(out, 'cert.pem')));
  expect(cert.subjectAltName).toBe('DNS:files.example.org, IP Address:192.0.2.7');
  expect(Date.parse(cert.validTo) - Date.now()).toBeLessThanOrEqual(31 * 24 * 3600 * 1000);
  expect(cert.checkPrivateKey(createPrivateKey(await fs.readFile(path.join(out, 'key.pem'))))).toBe(true);

  const again = await run(['cert', '--out', out]);
  expect(again).toMatchObject({ code: 1, err: expect.stringMatching(/already exists \(pass --force/) });
  expect(await run(['cert', '--out', out, '--force'])).toMatchObject({ code: 0 });
  expect(await run(['cert', '--out', out, '--force', '--host', 'bad name'])).toMatchObject({ code: 1, err: expect.stringMatching(/neither a host name nor an IP/) });
});
