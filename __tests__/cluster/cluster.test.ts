/**
 * The whole cluster, as an operator would run it: a real redis-server, an S3
 * endpoint (s3rver), two `ftp-server` processes (the real CLI) on one bucket
 * and one Redis, and HAProxy in front sending PROXY v2 headers. HAProxy
 * connects from 127.0.0.2, the only trusted balancer; each test's client
 * connects from its own 127.0.0.x address, so the nodes' per-IP counts and
 * bans of one test never touch another's.
 *
 * HAProxy has one shared frontend (health-checked on /healthz, as in
 * deploy/haproxy.cfg) and one frontend pinned to each node, so a test can
 * say "through node A" and still go through the balancer.
 *
 * The tests run in order on one cluster: node A is killed in the last one.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseMetrics, request, valueOf } from '../admin/admin-helpers';
import { writeUsers } from '../auth/auth-server';
import { Haproxy } from '../helpers/haproxy';
import { RawConnection } from '../helpers/raw-connection';
import { freePort, RedisServer, requireTool } from '../helpers/redis-server';
import { S3RVER_CREDENTIALS, startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';
import { spawnServer, type ServerProcess } from '../helpers/server-process';

jest.setTimeout(60_000);

const BALANCER = '127.0.0.2';
const ALICE = { name: 'alice', password: 'alice-cluster-secret' };
const PER_IP = 2;

interface Node {
  name: string;
  process: ServerProcess;
  adminPort: number;
}

let dir: string;
let redis: RedisServer;
let s3: S3Endpoint;
let s3client: S3Client;
let haproxy: Haproxy;
const nodes: Record<'a' | 'b', Node> = {} as never;
const open: RawConnection[] = [];

beforeAll(async () => {
  // Missing tools fail here, by name, before anything is started.
  requireTool('redis-server', 'redis-server');
  requireTool('haproxy', 'haproxy');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-'));
  const usersFile = path.join(dir, 'users.json');
  [redis, s3] = await Promise.all([RedisServer.start(), startS3Endpoint('cluster-bucket'), writeUsers(usersFile, [ALICE])]);
  s3client = s3.client();
  // The SDK's default chain finds these in the children's environment.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey });
  const start = async (name: 'a' | 'b'): Promise<Node> => {
    const adminPort = await freePort();
    const args = [
      '--host', '127.0.0.1', '--port', '0', '--log-dir', path.join(dir, `logs-${name}`), '--users', usersFile,
      '--admin-port', String(adminPort),
      '--storage', 's3', '--s3-bucket', s3.bucket, '--s3-endpoint', s3.endpoint, '--s3-region', 'us-east-1', '--s3-force-path-style',
      '--redis-url', redis.url, '--redis-prefix', 'cluster-test:', '--node-id', `node-${name}`,
      '--proxy-protocol', '--trusted-proxies', BALANCER,
      '--max-connections-per-ip', String(PER_IP), '--rate-limit', '0',
      // Ten failures at the default delays (0.5 s doubling to 8 s) take a minute; the ban is what is tested here.
      '--login-failure-delay', '0',
    ];
    return { name, process: await spawnServer(args, dir, 45_000), adminPort };
  };
  [nodes.a, nodes.b] = await Promise.all([start('a'), start('b')]);
  haproxy = await Haproxy.start({
    source: BALANCER,
    pinned: true,
    backends: [
      { name: 'a', port: nodes.a.process.port, checkPort: nodes.a.adminPort },
      { name: 'b', port: nodes.b.process.port, checkPort: nodes.b.adminPort },
    ],
  });
}, 120_000);

afterAll(async () => {
  for (const conn of open.splice(0)) conn.close();
  await Promise.all([nodes.a?.process.stop().catch(() => undefined), nodes.b?.process.stop().catch(() => undefined)]);
  await haproxy?.stop();
  await Promise.all([redis?.dispose(), s3?.stop()]);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Connect from `clientIp` to `port` (a HAProxy frontend) and read the greeting. */
async function connect(port: number, clientIp: string) {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: clientIp });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const conn = RawConnection.over(socket);
  open.push(conn);
  return { conn, greeting: await conn.frame(10_000), localPort: socket.localPort! };
}

/** Through node `name`'s own HAProxy frontend, logged in as alice. */
async function session(name: 'a' | 'b', clientIp: string) {
  const { conn, greeting, localPort } = await connect(haproxy.pinnedPort(name), clientIp);
  expect(greeting).toMatchObject({ code: 200 });
  expect(await conn.request('AUTH', { username: ALICE.name, password: ALICE.password })).toMatchObject({ code: 200 });
  return { conn, localPort };
}

async function download(conn: RawConnection, filename: string): Promise<Buffer> {
  const head = await conn.request('GET', { filename });
  expect(head).toMatchObject({ code: 200, filename });
  const bytes = await conn.bytes(head.size as number, 20_000);
  expect(await conn.frame(20_000)).toMatchObject({ type: 'transfer', code: 226, sha256: sha256(bytes) });
  return bytes;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

/** Poll `check` every 50 ms until it returns a value, at most `timeoutMs` (the message says what never came). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function redisMetrics(node: Node) {
  const samples = parseMetrics((await request(node.adminPort, '/metrics')).body);
  return { up: valueOf(samples, 'ftp_server_redis_up'), failures: valueOf(samples, 'ftp_server_redis_failures_total') };
}

test('a file uploaded through node A downloads byte-exact from node B; both log the client, not the balancer', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const onA = await session('a', '127.0.0.1');
  expect(await onA.conn.request('PUT', { filename: 'shared.bin', size: data.length, sha256: sha256(data) })).toMatchObject({ code: 150 });
  onA.conn.write(data);
  expect(await onA.conn.frame(20_000)).toMatchObject({ code: 226, bytes_received: data.length, sha256: sha256(data) });

  const onB = await session('b', '127.0.0.1');
  expect((await download(onB.conn, 'shared.bin')).equals(data)).toBe(true);
  // The PROXY v2 header's source, with the client's own port, labels each session.
  expect(nodes.a.process.output()).toContain(`[Client-127.0.0.1:${onA.localPort}]`);
  expect(nodes.b.process.output()).toContain(`[Client-127.0.0.1:${onB.localPort}]`);
  expect(nodes.a.process.output()).not.toContain(`[Client-${BALANCER}:`);
  // One object in the bucket, whole.
  const listed = await s3client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  expect(listed.Contents?.filter((o) => o.Key?.endsWith('shared.bin')).map((o) => o.Size)).toEqual([data.length]);
});

test('a client that skips the balancer is refused: only the trusted balancer may send a PROXY header', async () => {
  const socket = net.connect({ host: '127.0.0.1', port: nodes.a.process.port, localAddress: '127.0.0.1' });
  socket.on('error', () => undefined);
  // A forged header naming someone else: the node closes without a word.
  socket.write('PROXY TCP4 198.51.100.9 127.0.0.1 40000 5002\r\n');
  const received = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('close', () => resolve(text));
  });
  expect(received).toBe('');
  expect(nodes.a.process.output()).not.toContain('198.51.100.9:40000]');
});

test(`the per-IP cap (${PER_IP}) holds across nodes, and a slot given back on one node is free on the other`, async () => {
  const ip = '127.0.0.3';
  const first = await connect(haproxy.pinnedPort('a'), ip);
  const second = await connect(haproxy.pinnedPort('b'), ip);
  expect([first.greeting.code, second.greeting.code]).toEqual([200, 200]);
  for (const name of ['a', 'b'] as const) {
    const { greeting } = await connect(haproxy.pinnedPort(name), ip);
    expect(greeting).toMatchObject({ code: 429, message: 'Too many connections from your address' });
  }
  // Another address is not affected.
  expect((await connect(haproxy.pinnedPort('a'), '127.0.0.13')).greeting).toMatchObject({ code: 200 });
  // A leaves: its slot comes back in Redis, and B takes a new connection from the address.
  first.conn.close();
  await eventually('a connection on B once A gave its slot back', async () => {
    const { conn, greeting } = await connect(haproxy.pinnedPort('b'), ip);
    if (greeting.code === 200) return true;
    conn.close();
    return undefined;
  });
});

test('ten failed logins through node A ban the address on both nodes', async () => {
  const ip = '127.0.0.4';
  const { conn } = await connect(haproxy.pinnedPort('a'), ip);
  for (let i = 0; i < 10; i += 1) {
    expect(await conn.request('AUTH', { username: ALICE.name, password: `guess-${i}` })).toMatchObject({ code: 401 });
  }
  expect(count(nodes.a.process.output(), /Banned 127\.0\.0\.4 for \d+ s after 10 failed logins/)).toBe(1);
  for (const name of ['b', 'a'] as const) {
    const { greeting } = await connect(haproxy.pinnedPort(name), ip);
    expect(greeting).toMatchObject({ code: 429, message: 'Too many failed logins from your address; try again later' });
  }
  // B never saw a guess; the ban came from Redis. Other clients go on.
  expect(count(nodes.b.process.output(), /Failed login/)).toBe(0);
  const other = await session('b', '127.0.0.14');
  expect((await download(other.conn, 'shared.bin')).length).toBeGreaterThan(0);
});

test('Redis stopping degrades both nodes (/healthz, metrics, one ERROR line) and they recover when it returns', async () => {
  const before = await redisMetrics(nodes.a);
  expect(before.up).toBe(1);
  await redis.stop();
  for (const node of [nodes.a, nodes.b]) {
    await eventually(`node ${node.name} degraded`, async () => {
      const health = await request(node.adminPort, '/healthz');
      return health.status === 200 && health.body.startsWith('degraded:') ? true : undefined;
    });
    const metrics = await redisMetrics(node);
    expect(metrics.up).toBe(0);
    expect(metrics.failures).toBeGreaterThan(0);
  }
  // Still serving, on each node's own limits, through the balancer (health checks keep both in).
  const during = await session('a', '127.0.0.5');
  expect((await download(during.conn, 'shared.bin')).length).toBeGreaterThan(0);
  const down = new RegExp(`ERROR - Redis at redis://127\\.0\\.0\\.1:${redis.port} unreachable`);

  await redis.start();
  for (const node of [nodes.a, nodes.b]) {
    await eventually(`node ${node.name} healthy again`, async () => {
      const health = await request(node.adminPort, '/healthz');
      return health.body === 'ok\n' ? true : undefined;
    });
    expect((await redisMetrics(node)).up).toBe(1);
    // One ERROR line for the whole outage (the interval is a minute), one INFO line back.
    expect(count(node.process.output(), down)).toBe(1);
    expect(count(node.process.output(), /INFO - Redis at redis:\/\/127\.0\.0\.1:\d+ reachable again after \d+ s/)).toBe(1);
  }
  // Shared again: the per-IP cap counts across nodes after the restart (the nodes wrote their counts back).
  const ip = '127.0.0.6';
  await connect(haproxy.pinnedPort('a'), ip);
  await connect(haproxy.pinnedPort('b'), ip);
  expect((await connect(haproxy.pinnedPort('a'), ip)).greeting).toMatchObject({ code: 429 });
});

test('SIGKILL of node A mid-upload leaves no object, and node B goes on serving through the balancer', async () => {
  const size = 48 * 1024 * 1024;
  const onA = await session('a', '127.0.0.7');
  expect(await onA.conn.request('PUT', { filename: 'killed.bin', size })).toMatchObject({ code: 150 });
  // Enough for the multipart upload to have begun on the bucket, far from the end.
  onA.conn.write(randomBytes(20 * 1024 * 1024));
  await eventually('a multipart upload in the bucket', async () => {
    const uploads = await s3client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    return uploads.Uploads?.some((u) => u.Key?.endsWith('killed.bin')) ? true : undefined;
  }, 30_000);
  process.kill(nodes.a.process.pid, 'SIGKILL');
  await onA.conn.waitClosed(10_000);

  const listed = await s3client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  expect(listed.Contents?.map((o) => o.Key).filter((key) => key?.includes('killed.bin'))).toEqual([]);
  // Every new client through the shared frontend lands on B and is served.
  for (let i = 0; i < 4; i += 1) {
    const { conn, greeting } = await connect(haproxy.port, `127.0.0.${20 + i}`);
    expect(greeting).toMatchObject({ code: 200 });
    expect(await conn.request('AUTH', { username: ALICE.name, password: ALICE.password })).toMatchObject({ code: 200 });
    expect((await download(conn, 'shared.bin')).length).toBe(3 * 1024 * 1024 + 17);
    conn.close();
  }
});
