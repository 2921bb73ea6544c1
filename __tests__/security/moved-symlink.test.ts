/**
 * Issue 10, finding 2: a moved symlink reached outside a user's home and the
 * root. The review's attack, run against a real server with real accounts:
 * the root holds `d1/lnk2 -> ../outside` (inside while it lies in d1; at the
 * root it is the folder beside the root). alice (home `/`) renames bob's
 * home away and the link into its place; bob's open session then worked
 * outside. Now the rename is refused, bob's session is refused (his home is
 * pinned at login), and nothing outside is listed, read, changed or created.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MESSAGES } from '../../src/storage/fs-errors';
import { smallFileReader } from '../../src/storage/small-file-reader';
import { HOME_CHANGED_MESSAGE } from '../../src/storage/identity';
import { startAuthServer, type AuthServer } from '../auth/auth-server';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';
import { snapshotTree } from './fuzz-driver';

jest.setTimeout(60_000);

// The small-file worker loads ts-node on its first job, which can take
// seconds on a busy machine: start it here, not inside a timed request.
beforeAll(() => smallFileReader.read(__dirname, ['no-such-file'], 1));

const ALICE = { name: 'alice', password: 'alice-password-1', home: '/' };
const BOB = { name: 'bob', password: 'bob-password-12' };
const CAROL = { name: 'carol', password: 'carol-password-1' };
/** Outside the root: its name and size must never appear in a reply. */
const VICTIM = 'victim-outside.txt';
const VICTIM_SIZE = 31_337;

async function seedOutside(root: string, outside: string): Promise<void> {
  await fs.writeFile(path.join(outside, VICTIM), Buffer.alloc(VICTIM_SIZE, 0x41));
  await fs.mkdir(path.join(outside, 'sub'));
  // Inside the root: the folder d1/lnk2 leads to while it lies in d1.
  await fs.mkdir(path.join(root, 'outside'));
  await fs.mkdir(path.join(root, 'd1'));
  await fs.symlink('../outside', path.join(root, 'd1', 'lnk2'));
}

async function login(port: number, user: { name: string; password: string }): Promise<RawConnection> {
  const { conn } = await RawConnection.open(port);
  expect(await conn.request('AUTH', { username: user.name, password: user.password })).toMatchObject({ code: 200 });
  return conn;
}

/** Every command bob could use against his (swapped) home; each must be refused. */
async function expectEverythingRefused(bob: RawConnection): Promise<void> {
  const attempts: Array<[string, Record<string, unknown>]> = [
    ['LS', {}],
    ['STAT', { filename: VICTIM }],
    ['GET', { filename: VICTIM }],
    ['DELETE', { filename: VICTIM }],
    ['PUT', { filename: 'planted.txt', size: 1 }],
    ['MKDIR', { path: 'made' }],
    ['RMDIR', { path: 'sub' }],
    ['RENAME', { from: VICTIM, to: 'moved.txt' }],
  ];
  for (const [command, fields] of attempts) {
    const reply = await bob.request(command, fields);
    expect({ command, reply }).toEqual({ command, reply: { type: 'response', code: 403, message: HOME_CHANGED_MESSAGE } });
    expect(JSON.stringify(reply)).not.toContain(String(VICTIM_SIZE));
  }
}

describe('a home swapped under an open session', () => {
  let srv: AuthServer;
  let outsideBefore: string[];
  beforeEach(async () => {
    srv = await startAuthServer({ users: [ALICE, BOB, CAROL], prepare: ({ root, outside }) => seedOutside(root, outside) });
    outsideBefore = await snapshotTree(srv.outside);
  });
  afterEach(() => srv.stop());

  it('the review\'s reproduction: the link cannot be renamed into the home, and bob is refused, not redirected', async () => {
    const bob = await login(srv.port, BOB);
    expect(await bob.request('MKDIR', { path: 'mine' })).toMatchObject({ code: 200 });
    const alice = await login(srv.port, ALICE);
    expect(await alice.request('RENAME', { from: 'bob', to: 'bob-old' })).toMatchObject({ code: 200 });
    expect(await alice.request('RENAME', { from: 'd1/lnk2', to: 'bob' })).toEqual({
      type: 'response', code: 403, message: MESSAGES.linkWouldEscape,
    });
    expect(await fs.readlink(path.join(srv.root, 'd1', 'lnk2'))).toBe('../outside');

    await expectEverythingRefused(bob);
    expect(await snapshotTree(srv.outside)).toEqual(outsideBefore);
    expect(srv.log.lines.some((l) => l.level === 'WARNING' && l.message.includes(HOME_CHANGED_MESSAGE))).toBe(true);

    // A new login resolves the home again: a fresh, empty bob.
    const again = await login(srv.port, BOB);
    expect(await again.request('LS')).toMatchObject({ code: 200, files: [] });
    for (const conn of [bob, alice, again]) conn.close();
  });

  it('a link put in place of the home by a local user: bob is refused, and a new login is too', async () => {
    const bob = await login(srv.port, BOB);
    await fs.rename(path.join(srv.root, 'bob'), path.join(srv.root, 'bob-old'));
    await fs.rename(path.join(srv.root, 'd1', 'lnk2'), path.join(srv.root, 'bob'));
    await expectEverythingRefused(bob);
    expect(await snapshotTree(srv.outside)).toEqual(outsideBefore);
    const { conn } = await RawConnection.open(srv.port);
    expect(await conn.request('AUTH', { username: BOB.name, password: BOB.password })).toMatchObject({ code: 500 });
    for (const c of [bob, conn]) c.close();
  });

  it('another user\'s folder renamed into the home: bob is refused, carol\'s files untouched', async () => {
    await fs.writeFile(path.join(srv.root, 'carol', 'carol.txt'), 'carol data');
    const bob = await login(srv.port, BOB);
    const alice = await login(srv.port, ALICE);
    expect(await alice.request('RENAME', { from: 'bob', to: 'bob-old' })).toMatchObject({ code: 200 });
    expect(await alice.request('RENAME', { from: 'carol', to: 'bob' })).toMatchObject({ code: 200 });
    for (const [command, fields] of [['LS', {}], ['DELETE', { filename: 'carol.txt' }], ['PUT', { filename: 'carol.txt', size: 0 }]] as const) {
      expect(await bob.request(command, fields)).toMatchObject({ code: 403, message: HOME_CHANGED_MESSAGE });
    }
    expect(await fs.readFile(path.join(srv.root, 'bob', 'carol.txt'), 'utf8')).toBe('carol data');
    for (const conn of [bob, alice]) conn.close();
  });
});

describe('racing RENAMEs against LS and STAT', () => {
  let t: TestServer;
  let outsideBefore: string[];
  const ROUNDS = 150;
  beforeEach(async () => {
    t = await startTestServer({ limits: { rateLimit: 0 } });
    await seedOutside(t.root, t.outside);
    await fs.writeFile(path.join(t.root, 'd1', 'x.txt'), 'inner');
    outsideBefore = await snapshotTree(t.outside);
  });
  afterEach(() => t.stop());

  /** LS and STAT `d1` on a loop until `done`; every reply is checked for the outside file. */
  async function probe(conn: RawConnection, done: () => boolean): Promise<Set<number>> {
    const codes = new Set<number>();
    for (let i = 0; i < 10_000 && !done(); i++) {
      for (const [command, fields] of [['LS', { path: 'd1' }], ['STAT', { filename: `d1/${VICTIM}` }], ['STAT', { filename: 'd1/sub' }]] as const) {
        const reply = await conn.request(command, fields);
        const text = JSON.stringify(reply);
        if (text.includes(VICTIM) || text.includes(String(VICTIM_SIZE)) || (command === 'STAT' && reply.code === 200)) {
          throw new Error(`disclosed the outside: ${command} -> ${text}`);
        }
        codes.add(reply.code as number);
      }
    }
    return codes;
  }

  it('one client renaming the link in and out: the escaping rename is refused every time, nothing leaks', async () => {
    const attacker = (await RawConnection.open(t.port)).conn;
    const lister = (await RawConnection.open(t.port)).conn;
    let finished = false;
    const listing = probe(lister, () => finished);
    const refused = new Set<number>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        expect(await attacker.request('RENAME', { from: 'd1', to: 'd1-away' })).toMatchObject({ code: 200 });
        refused.add((await attacker.request('RENAME', { from: 'd1-away/lnk2', to: 'd1' })).code as number);
        expect(await attacker.request('RENAME', { from: 'd1-away', to: 'd1' })).toMatchObject({ code: 200 });
      }
    } finally {
      finished = true;
    }
    await listing;
    expect([...refused]).toEqual([403]);
    expect(await snapshotTree(t.outside)).toEqual(outsideBefore);
    attacker.close();
    lister.close();
  });

  it('a local user swapping d1 for a link out of the root: LS and STAT refuse, never disclose', async () => {
    const lister = (await RawConnection.open(t.port)).conn;
    let finished = false;
    const listing = probe(lister, () => finished);
    const d1 = path.join(t.root, 'd1');
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await fs.rename(d1, `${d1}-away`);
        await fs.symlink(t.outside, d1);
        await new Promise((resolve) => setImmediate(resolve));
        await fs.unlink(d1);
        await fs.rename(`${d1}-away`, d1);
      }
    } finally {
      finished = true;
    }
    const codes = await listing;
    expect([...codes].filter((code) => ![200, 403, 404].includes(code))).toEqual([]);
    expect(await snapshotTree(t.outside)).toEqual(outsideBefore);
    lister.close();
  });
});
