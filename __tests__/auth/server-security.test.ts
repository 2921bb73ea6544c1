import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { prepareSecurity } from '../../src/auth/server-security';
import { main } from '../../src/cli/server-cli';
import { MemoryLog } from '../../src/logging/log';
import { writeUsers } from './auth-server';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-security-'));
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const warnings = (log: MemoryLog) => log.lines.filter((l) => l.level === 'WARNING').map((l) => l.message);

describe('prepareSecurity', () => {
  it('keeps the zero-setup start: no users file, no accounts — and warns when the port is public', async () => {
    const log = new MemoryLog();
    const local = await prepareSecurity({ root: path.join(dir, 'root'), host: '127.0.0.1', cwd: dir }, log);
    expect(local.options).toEqual({});
    expect(warnings(log)).toEqual([]);
    const open = await prepareSecurity({ root: path.join(dir, 'root'), host: '0.0.0.0', cwd: dir }, log);
    expect(open.options.authenticator).toBeUndefined();
    expect(warnings(log)).toEqual([expect.stringMatching(/^Anyone who can reach 0\.0\.0\.0 can read, change and delete every file/)]);
  });

  it('turns accounts on from ./users.json when it exists, and warns that passwords travel in clear without TLS', async () => {
    await writeUsers(path.join(dir, 'users.json'), [{ name: 'alice', password: 'alice-password' }]);
    await fs.chmod(path.join(dir, 'users.json'), 0o644);
    const log = new MemoryLog();
    const { options, accounts } = await prepareSecurity({ root: path.join(dir, 'root'), host: '0.0.0.0', cwd: dir }, log);
    expect(options.authenticator?.required).toBe(true);
    expect(accounts?.userCount).toBe(1);
    expect(log.lines.map((l) => l.message)).toContainEqual(expect.stringMatching(/^Accounts on: 1 user\(s\) from .*users\.json; login required$/));
    expect(warnings(log)).toEqual([
      expect.stringMatching(/readable by other users \(mode 644\); run: chmod 600/),
      expect.stringMatching(/^Passwords and files cross the network unencrypted/),
    ]);
    // The home exists from the start.
    await expect(fs.stat(path.join(dir, 'root', 'alice'))).resolves.toBeTruthy();
  });

  it('refuses to start with a users file given but missing, or broken', async () => {
    const log = new MemoryLog();
    await expect(prepareSecurity({ root: dir, host: '127.0.0.1', usersFile: path.join(dir, 'nope.json') }, log)).rejects.toThrow(/no such file \(create it with: ftp-server user add/);
    await fs.writeFile(path.join(dir, 'bad.json'), '{"version":1,"users":{"alice":{"password":"plain-text!","home":"a","permissions":[]}}}');
    const err = await prepareSecurity({ root: dir, host: '127.0.0.1', usersFile: path.join(dir, 'bad.json') }, log).catch((e: Error) => e);
    expect(String(err as Error)).toMatch(/user 'alice': password is not a valid scrypt hash/);
    expect(String(err as Error)).not.toContain('plain-text!');
  });
});

describe('server options', () => {
  class Text extends Writable {
    text = '';
    override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
      this.text += chunk.toString();
      cb();
    }
  }

  it.each([
    [['--tls-cert', 'cert.pem'], /--tls-cert needs --tls-key/],
    [['--tls-key', 'key.pem'], /--tls-key needs --tls-cert/],
    [['--anonymous', '--anonymous-perms', 'read,fly'], /--anonymous: unknown permission 'fly'/],
    [['--anonymous', '--anonymous-home', '../x'], /--anonymous: invalid home/],
    [['--ban-time', '0'], /--ban-time must be a positive number/],
    [['--max-login-failures', '-1'], /--max-login-failures must be a whole number/],
    [['--users', ''], /--users must not be empty/],
  ])('refuses %j with exit code 2 before listening', async (args, message) => {
    const stderr = new Text();
    const code = await main(args, { stdin: new PassThrough(), stdout: new Text(), stderr });
    expect(code).toBe(2);
    expect(stderr.text).toMatch(message);
  });
});
