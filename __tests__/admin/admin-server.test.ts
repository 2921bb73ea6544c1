import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdminServer } from '../../src/admin/admin-server';
import { METRIC_NAMES, MetricsObserver } from '../../src/admin/metrics';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';
import { parseMetrics, request, valueOf, waitFor } from './admin-helpers';

let base: string;
let server: FileServer;
let admin: AdminServer;
let metrics: MetricsObserver;
const connections: RawConnection[] = [];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-admin-'));
  await fs.writeFile(path.join(base, 'a.txt'), 'hello');
  metrics = new MetricsObserver();
  server = await FileServer.start({
    root: base,
    host: '127.0.0.1',
    port: 0,
    observer: metrics,
    log: new MemoryLog(),
    limits: { maxConnectionsPerIp: 1, shutdownGraceMs: 5_000 },
  });
  admin = await AdminServer.start({ target: server, metrics, port: 0 });
});

afterEach(async () => {
  for (const conn of connections.splice(0)) conn.close();
  await server.close(1_000);
  await admin.close();
  await fs.rm(base, { recursive: true, force: true });
});

async function open(): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(server.port);
  connections.push(conn);
  expect(greeting.code).toBe(200);
  return conn;
}

async function scrape() {
  const answer = await request(admin.port, '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(answer.body);
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

describe('/metrics', () => {
  it('moves by exactly the traffic sent', async () => {
    const before = await scrape();
    expect(valueOf(before, METRIC_NAMES.activeSessions)).toBe(0);
    expect(valueOf(before, METRIC_NAMES.connections, { result: 'accepted' })).toBe(0);
    expect(before.filter((s) => s.name === METRIC_NAMES.commands)).toEqual([]);

    const conn = await open();
    expect(valueOf(await scrape(), METRIC_NAMES.activeSessions)).toBe(1);

    // A second connection from this IP is over the per-IP limit of 1.
    const { conn: refused, greeting } = await RawConnection.open(server.port);
    connections.push(refused);
    expect(greeting.code).toBe(429);
    await refused.waitClosed();

    expect((await conn.request('LS')).code).toBe(200);
    expect(await conn.request('GET', { filename: 'a.txt' })).toMatchObject({ code: 200, size: 5 });
    expect((await conn.bytes(5)).toString()).toBe('hello');
    expect(await conn.frame()).toMatchObject({ type: 'transfer', code: 226, bytes: 5 });
    expect(await conn.request('PUT', { filename: 'b.bin', size: 7, sha256: sha256('1234567') })).toMatchObject({ code: 150 });
    conn.write('1234567');
    expect(await conn.frame()).toMatchObject({ code: 226, bytes_received: 7 });
    expect((await conn.request('GET', { filename: 'missing.txt' })).code).toBe(404);
    expect((await conn.request('FROB')).code).toBe(400);
    expect((await conn.request('QUIT')).code).toBe(200);
    await conn.waitClosed();

    const after = await waitFor(async () => {
      const samples = await scrape();
      return valueOf(samples, METRIC_NAMES.activeSessions) === 0 ? samples : undefined;
    });
    expect(valueOf(after, METRIC_NAMES.connections, { result: 'accepted' })).toBe(1);
    expect(valueOf(after, METRIC_NAMES.connections, { result: 'max_connections_per_ip' })).toBe(1);
    for (const result of ['max_connections', 'rate_limited', 'draining']) {
      expect(valueOf(after, METRIC_NAMES.connections, { result })).toBe(0);
    }
    const commands = after
      .filter((s) => s.name === METRIC_NAMES.commands)
      .map((s) => `${s.labels.command} ${s.labels.code} ${s.value}`)
      .sort();
    expect(commands).toEqual(['GET 200 1', 'GET 404 1', 'INVALID 400 1', 'LS 200 1', 'PUT 226 1', 'QUIT 200 1']);
    expect(valueOf(after, METRIC_NAMES.bytesSent)).toBe(5);
    expect(valueOf(after, METRIC_NAMES.bytesReceived)).toBe(7);
    expect(valueOf(after, `${METRIC_NAMES.transferDuration}_count`, { direction: 'download' })).toBe(1);
    expect(valueOf(after, `${METRIC_NAMES.transferDuration}_count`, { direction: 'upload' })).toBe(1);
    expect(valueOf(after, `${METRIC_NAMES.transferDuration}_bucket`, { direction: 'upload', le: '+Inf' })).toBe(1);
    expect(valueOf(after, METRIC_NAMES.transfers, { direction: 'upload', result: 'ok' })).toBe(1);
    expect(valueOf(after, METRIC_NAMES.transfers, { direction: 'download', result: 'failed' })).toBe(0);
    expect(valueOf(after, METRIC_NAMES.transfersInFlight)).toBe(0);
  });

  it('includes the default process metrics, and each observer has its own registry', async () => {
    const names = new Set((await scrape()).map((s) => s.name));
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(names).toContain(name);
    }
    // A second set of the same metrics in one process must not collide.
    const other = new MetricsObserver();
    other.connection('accepted');
    expect(valueOf(parseMetrics(await other.metricsText()), METRIC_NAMES.connections, { result: 'accepted' })).toBe(1);
    expect(valueOf(await scrape(), METRIC_NAMES.connections, { result: 'accepted' })).toBe(0);
  });
});

describe('/healthz and /status', () => {
  it('answers 200 while accepting and 503 from the moment a drain starts, with a transfer in flight', async () => {
    expect(await request(admin.port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    const conn = await open();
    expect(await conn.request('PUT', { filename: 'slow.bin', size: 10 })).toMatchObject({ code: 150 });
    conn.write('abc');
    await waitFor(() => (metrics.snapshot().transfersInFlight === 1 ? true : undefined));

    const closing = server.close(5_000);
    const during = await waitFor(async () => {
      const answer = await request(admin.port, '/healthz');
      return answer.status === 503 ? answer : undefined;
    });
    expect(during.body).toBe('draining\n');
    const status = JSON.parse((await request(admin.port, '/status')).body);
    expect(status).toMatchObject({ state: 'draining', sessions: { active: 1 }, transfers: { in_flight: 1 } });

    // The transfer is allowed to finish; then the server is gone but stays "draining".
    conn.write('defghij');
    expect(await conn.frame()).toMatchObject({ code: 226, bytes_received: 10 });
    await closing;
    expect((await request(admin.port, '/healthz')).status).toBe(503);
    const done = JSON.parse((await request(admin.port, '/status')).body);
    expect(done).toMatchObject({
      state: 'draining',
      sessions: { active: 0 },
      transfers: { in_flight: 0, uploads: { ok: 1, failed: 0 }, bytes_received: 10 },
      connections: { accepted: 1 },
    });
  });

  it('serves /status as JSON with the totals', async () => {
    const answer = await request(admin.port, '/status');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-store');
    const status = JSON.parse(answer.body);
    expect(status).toMatchObject({
      server: expect.stringMatching(/^ftp-server\//),
      state: 'accepting',
      sessions: { active: 0 },
      transfers: { in_flight: 0, bytes_sent: 0, bytes_received: 0 },
      commands: 0,
    });
    expect(Date.parse(status.started_at)).not.toBeNaN();
  });

  it('answers HEAD without a body, 404 for other paths and 405 for other methods', async () => {
    expect(await request(admin.port, '/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
    expect((await request(admin.port, '/nope')).status).toBe(404);
    const post = await request(admin.port, '/healthz', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('binds to loopback by default', () => {
    expect(admin.address.address).toBe('127.0.0.1');
    expect(admin.url).toBe(`http://127.0.0.1:${admin.port}`);
  });
});
