import fs from 'node:fs/promises';
import path from 'node:path';
import * as passwordHash from '../../src/auth/password-hash';
import { Readable } from 'node:stream';
import { FtpClient } from '../../src/client';
import type { Permission } from '../../src/core/access';
import { FakeClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer } from '../helpers/test-server';
import { logText, startAuthServer, TEST_SCRYPT, writeUsers, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };
const BOB = { name: 'bob', password: 'bob-battery-staple' };

describe('with a users file', () => {
  let srv: AuthServer;
  beforeAll(async () => {
    srv = await startAuthServer({ users: [ALICE, BOB, { name: 'root-user', password: 'root-user-pass', home: '/' }] });
  });
  afterAll(() => srv.stop());

  it('greets with auth_required and AUTH in features; only AUTH and QUIT work before login', async () => {
    const { conn, greeting } = await RawConnection.open(srv.port);
    expect(greeting).toMatchObject({ code: 200, auth_required: true });
    expect(greeting.features).toContain('AUTH');
    for (const [command, fields] of [['LS', {}], ['GET', { filename: 'x' }], ['PUT', { filename: 'x', size: 1 }], ['MKDIR', { path: 'd' }], ['STAT', { filename: 'x' }]] as const) {
      expect(await conn.request(command, fields)).toMatchObject({ code: 401 });
    }
    expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
    await conn.waitClosed();
  });

  it('logs in with the right password (200) and refuses a wrong one or an unknown user alike (401)', async () => {
    const { conn } = await RawConnection.open(srv.port);
    const wrongPassword = await conn.request('AUTH', { username: 'alice', password: 'nope' });
    const unknownUser = await conn.request('AUTH', { username: 'mallory', password: 'nope' });
    expect(wrongPassword).toEqual({ type: 'response', code: 401, message: 'Wrong user name or password' });
    expect(unknownUser).toEqual(wrongPassword);
    expect(await conn.request('LS')).toMatchObject({ code: 401 });
    expect(await conn.request('AUTH', { username: 'alice' })).toMatchObject({ code: 400 });
    expect(await conn.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({ code: 200, username: 'alice' });
    expect(await conn.request('LS')).toMatchObject({ code: 200 });
    conn.close();
  });

  it('does the same scrypt work for an unknown user as for a wrong password', async () => {
    const spy = jest.spyOn(passwordHash, 'verifyPassword');
    try {
      const { conn } = await RawConnection.open(srv.port);
      await conn.request('AUTH', { username: 'alice', password: 'wrong-password' });
      await conn.request('AUTH', { username: 'nobody-at-all', password: 'wrong-password' });
      conn.close();
      expect(spy).toHaveBeenCalledTimes(2);
      const [known, unknown] = spy.mock.calls.map(([, hash]) => hash);
      expect(unknown.params).toEqual(known.params);
      expect(unknown.params).toEqual(TEST_SCRYPT);
      expect(unknown.key.length).toBe(known.key.length);
    } finally {
      spy.mockRestore();
    }
  });

  it('shows each user only their home, created on first use, and never a way out of it', async () => {
    await fs.symlink(path.join(srv.root, 'bob'), path.join(srv.root, 'alice', 'to-bob'));
    const alice = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
    await alice.auth('alice', ALICE.password);
    await alice.put('mine.txt', bufferStream('alice data'), 10);
    expect(await fs.readFile(path.join(srv.root, 'alice', 'mine.txt'), 'utf8')).toBe('alice data');
    expect((await alice.list('/')).map((e) => e.name)).toEqual(['mine.txt']); // the escaping link is left out
    await expect(alice.list('to-bob')).rejects.toMatchObject({ code: 403 });
    await expect(alice.stat('../bob')).rejects.toMatchObject({ code: 400 });
    await expect(alice.rmdir('/')).rejects.toMatchObject({ code: 403 });
    await alice.quit();

    const bob = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
    await bob.auth('bob', BOB.password);
    expect(await bob.list()).toEqual([]);
    await expect(bob.stat('mine.txt')).rejects.toMatchObject({ code: 404 });
    await bob.quit();

    const admin = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
    await admin.auth('root-user', 'root-user-pass');
    expect((await admin.list()).map((e) => e.name)).toEqual(expect.arrayContaining(['alice', 'bob']));
    await admin.quit();
  });

  it('picks up users added to the file while it runs', async () => {
    await writeUsers(srv.usersFile, [ALICE, BOB, { name: 'carol', password: 'carol-new-pass' }]);
    const client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
    await client.auth('carol', 'carol-new-pass');
    expect(await client.list()).toEqual([]);
    await client.quit();
    await expect(fs.stat(path.join(srv.root, 'carol'))).resolves.toBeTruthy();
  });

  it('never writes a password or a hash to the log', async () => {
    const hashes = (await fs.readFile(srv.usersFile, 'utf8')).match(/\$scrypt\$[^"]+/g)!;
    const text = logText(srv.log);
    expect(text).toContain('Command: AUTH alice');
    expect(text).toMatch(/WARNING .*Failed login as 'alice' from 127\.0\.0\.1/);
    for (const secret of [ALICE.password, BOB.password, 'wrong-password', 'root-user-pass', ...hashes, ...hashes.map((h) => h.split('$')[3])]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('permissions', () => {
  const ALL: Permission[] = ['read', 'write', 'delete', 'mkdir', 'rename'];
  let srv: AuthServer;
  beforeAll(async () => {
    srv = await startAuthServer({
      users: ALL.map((missing) => ({ name: `no-${missing}`, password: 'password-123', home: '/', permissions: ALL.filter((p) => p !== missing) })),
    });
    await fs.writeFile(path.join(srv.root, 'file.txt'), 'content');
    await fs.mkdir(path.join(srv.root, 'empty'));
  });
  afterAll(() => srv.stop());

  // Each command with the permission it needs, a request that changes
  // nothing the next user would see, and its answer when it is allowed: past
  // the permission check the request reaches storage (a 404 is storage's
  // answer, so the check let it through).
  const cases: Array<[Permission, string, Record<string, unknown>, number]> = [
    ['read', 'LS', {}, 200],
    ['read', 'STAT', { filename: 'file.txt' }, 200],
    ['read', 'GET', { filename: 'file.txt', offset: 7 }, 200],
    ['write', 'PUT', { filename: 'new.txt', size: 0 }, 150],
    ['delete', 'DELETE', { filename: 'no-such.txt' }, 404],
    ['delete', 'RMDIR', { path: 'no-such-dir' }, 404],
    ['mkdir', 'MKDIR', { path: 'no-such-parent/d' }, 404],
    ['rename', 'RENAME', { from: 'no-such.txt', to: 'x.txt' }, 404],
  ];

  it.each(ALL)('a user without %s gets 403 for exactly the commands that need it', async (missing) => {
    const { conn } = await RawConnection.open(srv.port);
    expect(await conn.request('AUTH', { username: `no-${missing}`, password: 'password-123' })).toMatchObject({ code: 200 });
    for (const [needs, command, caseFields, allowed] of cases) {
      // A new name per user: replacing an earlier user's upload would need delete too.
      const fields = command === 'PUT' ? { ...caseFields, filename: `new-${missing}.txt` } : caseFields;
      const reply = await conn.request(command, fields);
      if (needs === missing) {
        expect({ command, reply }).toMatchObject({ command, reply: { code: 403, message: `Permission denied: ${missing} is not allowed for this user` } });
      } else {
        expect({ command, code: reply.code }).toEqual({ command, code: allowed });
        if (command === 'GET') expect(await conn.frame()).toMatchObject({ type: 'transfer', code: 226, bytes: 0 }); // a zero-byte download
        if (command === 'PUT') expect(await conn.frame()).toMatchObject({ type: 'response', code: 226, bytes_received: 0 });
      }
    }
    conn.close();
  });
});

describe('anonymous access', () => {
  it('is read-only by default, needs no login, and a real login still gets its own rights', async () => {
    const srv = await startAuthServer({ users: [{ ...ALICE, home: '/' }], anonymous: {} });
    try {
      await fs.writeFile(path.join(srv.root, 'public.txt'), 'hello');
      const { conn, greeting } = await RawConnection.open(srv.port);
      expect(greeting).toMatchObject({ code: 200, auth_required: false });
      expect(greeting.features).toContain('AUTH');
      expect(await conn.request('LS')).toMatchObject({ code: 200, files: [expect.objectContaining({ name: 'public.txt' })] });
      for (const [command, fields] of [['PUT', { filename: 'x.txt', size: 1 }], ['DELETE', { filename: 'public.txt' }], ['MKDIR', { path: 'd' }], ['RENAME', { from: 'public.txt', to: 'p.txt' }]] as const) {
        expect(await conn.request(command, fields)).toMatchObject({ code: 403 });
      }
      expect(await conn.request('AUTH', { username: 'anonymous', password: '' })).toMatchObject({ code: 200 });
      expect(await conn.request('PUT', { filename: 'x.txt', size: 1 })).toMatchObject({ code: 403 });
      expect(await conn.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({ code: 200 });
      expect(await conn.request('MKDIR', { path: 'd' })).toMatchObject({ code: 200 });
      conn.close();
      expect(srv.log.lines.some((l) => l.level === 'WARNING' && /Anonymous users can read the home folders of: alice/.test(l.message))).toBe(true);
    } finally {
      await srv.stop();
    }
  });

  it('works without a users file, confined to its own home', async () => {
    const srv = await startAuthServer({ anonymous: { home: 'pub' } });
    try {
      await fs.writeFile(path.join(srv.root, 'private.txt'), 'secret');
      await fs.writeFile(path.join(srv.root, 'pub', 'open.txt'), 'open');
      const client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
      expect((await client.list()).map((e) => e.name)).toEqual(['open.txt']);
      await expect(client.auth('alice', 'whatever-pass')).rejects.toMatchObject({ kind: 'auth', code: 401 });
      await client.quit();
    } finally {
      await srv.stop();
    }
  });
});

describe('homes', () => {
  it('refuses a home that leads outside the root, and creates nothing there', async () => {
    const srv = await startAuthServer({
      users: [{ name: 'eve', password: 'eve-password', home: 'escape/inner' }],
      prepare: async ({ root, outside }) => fs.symlink(outside, path.join(root, 'escape')),
    });
    try {
      const { conn } = await RawConnection.open(srv.port);
      expect(await conn.request('AUTH', { username: 'eve', password: 'eve-password' })).toMatchObject({ code: 500, message: 'Internal server error' });
      conn.close();
      expect(await fs.readdir(srv.outside)).toEqual([]);
      expect(srv.log.lines.some((l) => l.level === 'ERROR' && /eve/.test(l.message) && /escape/.test(l.message))).toBe(true);
    } finally {
      await srv.stop();
    }
  });
});

describe('without accounts', () => {
  it('has no AUTH: not in features, and an unknown command', async () => {
    const srv = await startTestServer();
    try {
      const { conn, greeting } = await RawConnection.open(srv.port);
      expect(greeting).toMatchObject({ auth_required: false });
      expect(greeting.features).not.toContain('AUTH');
      expect(await conn.request('AUTH', { username: 'a', password: 'b' })).toMatchObject({ code: 400 });
      conn.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('failed-login delay', () => {
  it('holds a wrong password\'s answer until the delay has run out on the clock, growing; the right one is answered at once', async () => {
    const clock = new FakeClock();
    const srv = await startAuthServer({ users: [ALICE], clock, policy: { failureDelayMs: 150, maxFailureDelayMs: 300, maxFailures: 0 } });
    try {
      const { conn } = await RawConnection.open(srv.port);
      const failures = () => srv.log.lines.filter((l) => l.level === 'WARNING' && /Failed login/.test(l.message));
      for (const [i, delay] of [150, 300, 300].entries()) {
        conn.command('AUTH', { username: i === 1 ? 'ghost' : 'alice', password: 'bad' });
        // The server has decided (and started the delay) once it logs the failure.
        for (let waited = 0; failures().length <= i; waited += 5) {
          if (waited > 10_000) throw new Error(`failure ${i + 1} was never logged`);
          await new Promise((r) => setTimeout(r, 5));
        }
        clock.advance(delay - 1);
        // Not a millisecond early: with the fake clock short of the delay, no answer can come.
        await expect(conn.frame(100)).rejects.toThrow();
        clock.advance(1);
        expect(await conn.frame()).toMatchObject({ code: 401 });
      }
      // No delay at all for the right password: the clock does not move, and the answer comes.
      expect(await conn.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({ code: 200 });
      conn.close();
      expect(failures().map((l) => l.message.replace(/.*answering in /, ''))).toEqual(['150 ms', '300 ms', '300 ms']);
    } finally {
      await srv.stop();
    }
  });
});

function bufferStream(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}
