/**
 * Failed logins and bans shared by two servers ("nodes") through a real
 * redis-server: each node has its own accounts, its own LoginGuard and its
 * own ResilientLimits (its own node id), exactly as two processes would.
 * The attacker's view: guesses spread over nodes, or sent to one node and
 * then retried on the other, must meet one count and one ban.
 */
import crypto from 'node:crypto';
import { ResilientLimits } from '../../src/cluster/resilient-limits';
import { MemoryLog } from '../../src/logging/log';
import { systemClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { RedisServer } from '../helpers/redis-server';
import { startAuthServer, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };
const POLICY = { maxFailures: 10, failureDelayMs: 0, maxFailureDelayMs: 0 };

let redis: RedisServer;
let prefixes = 0;
beforeAll(async () => {
  redis = await RedisServer.start();
}, 30_000);
afterAll(async () => {
  await redis?.dispose();
});

interface Node {
  srv: AuthServer;
  limits: ResilientLimits;
}
const nodes: Node[] = [];
const conns: RawConnection[] = [];
afterEach(async () => {
  for (const conn of conns.splice(0)) conn.close();
  for (const { srv, limits } of nodes.splice(0)) {
    await srv.stop();
    await limits.close();
  }
});

/** Two nodes on one Redis key prefix (fresh per test). */
async function twoNodes(): Promise<[Node, Node]> {
  const keyPrefix = `shared-bans-${(prefixes += 1)}:`;
  for (const id of ['node-a', 'node-b']) {
    const limits = ResilientLimits.connect({ url: redis.url, keyPrefix, nodeId: id }, { clock: systemClock, log: new MemoryLog() });
    expect(await limits.whenReady(10_000)).toBe(true);
    const srv = await startAuthServer({ users: [ALICE], policy: POLICY, sharedLimits: limits, limits: { maxConnectionsPerIp: 100 } });
    nodes.push({ srv, limits });
  }
  return [nodes[0], nodes[1]];
}

async function open(node: Node): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(node.srv.port);
  expect(greeting).toMatchObject({ code: 200 });
  conns.push(conn);
  return conn;
}

const lines = (node: Node, pattern: RegExp) => node.srv.log.lines.filter((l) => pattern.test(l.message)).map((l) => l.message);

test('ten failed logins through node A ban the address on node B too: new connections get 429, a session opened before cannot log in', async () => {
  const [a, b] = await twoNodes();
  // Open on B before the ban: its login must still be refused afterwards.
  const earlyOnB = await open(b);
  const onA = await open(a);
  for (let i = 0; i < 10; i += 1) {
    expect(await onA.request('AUTH', { username: 'alice', password: `guess-${i}` })).toMatchObject({ code: 401, message: 'Wrong user name or password' });
  }
  expect(lines(a, /^Banned 127\.0\.0\.1 for 900 s after 10 failed logins/)).toHaveLength(1);
  expect(lines(a, /^Failed login as 'alice' from 127\.0\.0\.1 \(10 in the last 900 s\)/)).toHaveLength(1);

  // B never saw a failure, yet refuses the address at its door...
  const { conn: late, greeting } = await RawConnection.open(b.srv.port);
  conns.push(late);
  expect(greeting).toMatchObject({ type: 'connection', code: 429, message: 'Too many failed logins from your address; try again later' });
  // ...and refuses the right password on the session opened before the ban, unchecked.
  expect(await earlyOnB.request('AUTH', { username: 'alice', password: ALICE.password })).toMatchObject({
    code: 401,
    message: 'Too many failed logins from your address; try again later',
  });
  expect(b.srv.accounts.isBanned('127.0.0.1')).toBe(true);
  expect(lines(b, /^Failed login/)).toEqual([]);
  expect(lines(b, /Logged in/)).toEqual([]);
});

test('guesses spread over both nodes count toward one ban: five on each', async () => {
  const [a, b] = await twoNodes();
  const onA = await open(a);
  const onB = await open(b);
  for (let i = 0; i < 5; i += 1) {
    expect(await onA.request('AUTH', { username: 'alice', password: `a-${i}` })).toMatchObject({ code: 401 });
    expect(await onB.request('AUTH', { username: `nobody-${i}`, password: `b-${i}` })).toMatchObject({ code: 401 });
  }
  // The tenth failure, B's last, started the ban: B says so, A does not.
  expect(lines(b, /^Banned 127\.0\.0\.1/)).toHaveLength(1);
  expect(lines(a, /^Banned/)).toEqual([]);
  expect(lines(b, /^Failed login as 'nobody-4' from 127\.0\.0\.1 \(10 in the last 900 s\)/)).toHaveLength(1);
  for (const node of [a, b]) {
    const { conn, greeting } = await RawConnection.open(node.srv.port);
    conns.push(conn);
    expect(greeting).toMatchObject({ code: 429 });
  }
});

test("the right password being checked on B when A's guess starts the ban is refused", async () => {
  const [a, b] = await twoNodes();
  const onA = await open(a);
  const onB = await open(b);
  for (let i = 0; i < 9; i += 1) expect(await onA.request('AUTH', { username: 'alice', password: `guess-${i}` })).toMatchObject({ code: 401 });

  // Hold B's scrypt run of the right password until A's tenth guess has failed.
  const real = crypto.scrypt;
  let heldStarted = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const spy = jest.spyOn(crypto, 'scrypt').mockImplementation(((
    password: crypto.BinaryLike,
    salt: crypto.BinaryLike,
    keylen: number,
    options: crypto.ScryptOptions,
    callback: (err: Error | null, key: Buffer) => void,
  ) => {
    const held = password === ALICE.password;
    if (held) heldStarted = true;
    real(password, salt, keylen, options, (err, key) => {
      if (held) void released.then(() => callback(err, key));
      else callback(err, key);
    });
  }) as unknown as typeof crypto.scrypt);
  try {
    onB.command('AUTH', { username: 'alice', password: ALICE.password });
    const deadline = Date.now() + 10_000;
    while (!heldStarted) {
      if (Date.now() > deadline) throw new Error('the right password was never hashed on B');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await onA.request('AUTH', { username: 'alice', password: 'guess-9' })).toMatchObject({ code: 401 });
    expect(lines(a, /^Banned 127\.0\.0\.1/)).toHaveLength(1);
    release();
    expect(await onB.frame(10_000)).toMatchObject({ code: 401, message: 'Too many failed logins from your address; try again later' });
  } finally {
    release();
    spy.mockRestore();
  }
  expect(lines(b, /^Refused the right password for 'alice' from 127\.0\.0\.1: the address was banned while it was checked/)).toHaveLength(1);
  expect(lines(b, /Logged in/)).toEqual([]);
});
