/**
 * The admin endpoint of a cluster node while its Redis comes and goes:
 * /healthz stays 200 and says "degraded" (a shared store's outage hits every
 * node at once; a 503 would make the balancer drop them all), /metrics
 * exports redis_up and the failure count, /status says the state. Draining
 * still wins: 503. The health source is a plain object the test flips; the
 * real ResilientLimits behind it is tested with a real Redis elsewhere.
 */
import { AdminServer, DEGRADED_BODY } from '../../src/admin/admin-server';
import { METRIC_NAMES, MetricsObserver } from '../../src/admin/metrics';
import { formatStatus } from '../../src/cli/status-cli';
import { parseMetrics, request, valueOf } from './admin-helpers';

const target = { draining: false, activeSessions: 0 };
const health = { healthy: true, failures: 0 };
let admin: AdminServer;
beforeAll(async () => {
  const metrics = new MetricsObserver({ defaultMetrics: false });
  metrics.watchSharedLimits(health);
  admin = await AdminServer.start({ target, metrics, port: 0, sharedLimits: health });
});
afterAll(async () => {
  await admin.close();
});

async function redisSamples() {
  const samples = parseMetrics((await request(admin.port, '/metrics')).body);
  return { up: valueOf(samples, METRIC_NAMES.redisUp), failures: valueOf(samples, METRIC_NAMES.redisFailures) };
}

test('healthy, degraded, recovered, then draining: /healthz, /metrics and /status follow the store', async () => {
  expect(await request(admin.port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  expect(await redisSamples()).toEqual({ up: 1, failures: 0 });
  expect(JSON.parse((await request(admin.port, '/status')).body)).toMatchObject({ shared_limits: { state: 'ok', failures: 0 } });

  health.healthy = false;
  health.failures = 3;
  const degraded = await request(admin.port, '/healthz');
  expect(degraded).toMatchObject({ status: 200, body: DEGRADED_BODY });
  expect(degraded.body).toMatch(/^degraded: Redis unreachable/);
  expect(await redisSamples()).toEqual({ up: 0, failures: 3 });
  const status = JSON.parse((await request(admin.port, '/status')).body);
  expect(status).toMatchObject({ shared_limits: { state: 'degraded', failures: 3 } });
  // `ftp-server status` prints it on a line of its own.
  expect(formatStatus(status, admin.url)).toMatch(/^ {2}shared limits +degraded: Redis unreachable, limits are this node's own; 3 Redis failures since start$/m);

  // Back: healthy again; the failures stay counted (a counter never goes down).
  health.healthy = true;
  health.failures = 5;
  expect(await request(admin.port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  expect(await redisSamples()).toEqual({ up: 1, failures: 5 });

  // A draining node is taken out of the balancer whatever Redis does.
  health.healthy = false;
  target.draining = true;
  expect(await request(admin.port, '/healthz')).toMatchObject({ status: 503, body: 'draining\n' });
});

test('a node without --redis-url exports no Redis metrics and no shared_limits in /status', async () => {
  const metrics = new MetricsObserver({ defaultMetrics: false });
  const single = await AdminServer.start({ target: { draining: false, activeSessions: 0 }, metrics, port: 0 });
  try {
    const text = (await request(single.port, '/metrics')).body;
    expect(text).not.toContain(METRIC_NAMES.redisUp);
    const status = JSON.parse((await request(single.port, '/status')).body);
    expect(status).not.toHaveProperty('shared_limits');
    expect(formatStatus(status, single.url)).not.toContain('shared limits');
  } finally {
    await single.close();
  }
});
