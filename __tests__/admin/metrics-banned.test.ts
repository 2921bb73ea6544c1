/**
 * Issue 11 §6: connections refused because their IP is banned are counted
 * in /metrics like every other refusal, and the series exists (at 0) from
 * the start, so dashboards and alerts can rely on it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdminServer } from '../../src/admin/admin-server';
import { CONNECTION_RESULTS, METRIC_NAMES, MetricsObserver } from '../../src/admin/metrics';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';
import { parseMetrics, request, valueOf, waitFor } from './admin-helpers';

let base: string;
let server: FileServer;
let admin: AdminServer;

afterEach(async () => {
  await server.close(500);
  await admin.close();
  await fs.rm(base, { recursive: true, force: true });
});

it('counts banned connections in ftp_server_connections_total{result="banned"}', async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-banned-'));
  const metrics = new MetricsObserver({ defaultMetrics: false });
  const banned = new Set<string>();
  server = await FileServer.start({
    root: base, host: '127.0.0.1', port: 0, log: new MemoryLog(), observer: metrics,
    bans: { isBanned: (ip) => banned.has(ip) },
  });
  admin = await AdminServer.start({ target: server, metrics, port: 0 });
  const scrape = async () => parseMetrics((await request(admin.port, '/metrics')).body);

  expect(CONNECTION_RESULTS).toContain('banned');
  expect(valueOf(await scrape(), METRIC_NAMES.connections, { result: 'banned' })).toBe(0);

  const allowed = await RawConnection.open(server.port);
  expect(allowed.greeting).toMatchObject({ code: 200 });
  allowed.conn.close();
  banned.add('127.0.0.1');
  for (let i = 0; i < 2; i++) {
    const { conn, greeting } = await RawConnection.open(server.port);
    expect(greeting).toMatchObject({ code: 429 });
    await conn.waitClosed();
  }
  const after = await waitFor(async () => {
    const samples = await scrape();
    return valueOf(samples, METRIC_NAMES.connections, { result: 'banned' }) === 2 ? samples : undefined;
  });
  expect(valueOf(after, METRIC_NAMES.connections, { result: 'accepted' })).toBe(1);
  expect(valueOf(after, METRIC_NAMES.connections, { result: 'rate_limited' })).toBe(0);
  expect(metrics.snapshot().connectionsRefused).toEqual({ banned: 2 });
});
