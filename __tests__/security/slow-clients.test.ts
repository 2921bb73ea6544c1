/**
 * Idle floods and slow-loris clients (issue 4): 300 idle connections and two
 * clients trickling one byte a second must not slow a normal client down, and
 * a frame that does not arrive whole in time ends its connection, however
 * steadily its bytes trickle in.
 */
import { performance } from 'node:perf_hooks';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

jest.setTimeout(45_000);

const IDLE_CLIENTS = 300;

let t: TestServer | undefined;
const open: RawConnection[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const conn of open.splice(0)) conn.close();
  await t?.stop();
  t = undefined;
});

async function connect(port: number): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(port);
  open.push(conn);
  expect(greeting).toMatchObject({ type: 'connection', code: 200 });
  return conn;
}

/**
 * A slow-loris client: greeted, then sends the frame of an `LS` one byte per
 * `everyMs`. Returns the frame so a test can finish it.
 */
async function startLoris(port: number, everyMs = 1_000): Promise<{ conn: RawConnection; frame: Buffer; sent: () => number; firstByteAt: number }> {
  const conn = await connect(port);
  conn.socket.setNoDelay(true);
  const frame = encodeFrame({ type: 'command', command: 'LS', path: '/' });
  let sent = 0;
  const trickle = () => {
    if (sent < frame.length - 1 && !conn.closed) conn.write(frame.subarray(sent, ++sent));
  };
  const firstByteAt = performance.now();
  trickle();
  timers.push(setInterval(trickle, everyMs));
  return { conn, frame, sent: () => sent, firstByteAt };
}

/** Wall time of one LS round trip, in milliseconds. */
async function timedLs(conn: RawConnection): Promise<number> {
  const started = performance.now();
  const reply = await conn.request('LS', {});
  const elapsed = performance.now() - started;
  expect(reply).toMatchObject({ code: 200, message: '40 entries' });
  return elapsed;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

describe('a normal client among idle and slow-loris connections', () => {
  it(`answers LS in well under a second with ${IDLE_CLIENTS} idle connections and 2 slow-loris clients`, async () => {
    t = await startTestServer({ limits: { maxConnections: 1_000, maxConnectionsPerIp: 400, rateLimit: 0 } });
    for (let i = 0; i < 40; i++) await t.put(`file-${String(i).padStart(2, '0')}.txt`, 'x'.repeat(i));
    const normal = await connect(t.port);
    const quiet: number[] = [];
    for (let i = 0; i < 10; i++) quiet.push(await timedLs(normal));

    // Open the idle crowd in parallel batches, each greeted: all are admitted and held.
    const idle: RawConnection[] = [];
    for (let batch = 0; batch < IDLE_CLIENTS / 50; batch++) {
      idle.push(...(await Promise.all(Array.from({ length: 50 }, () => connect(t!.port)))));
    }
    const lorises = [await startLoris(t.port), await startLoris(t.port)];
    expect(t.server.activeSessions).toBe(1 + IDLE_CLIENTS + 2);

    // Keep measuring for ~4 s while the lorises trickle: LS on the open client,
    // and a brand-new client's connect + greeting + LS.
    const loaded: number[] = [];
    const fresh: number[] = [];
    const until = performance.now() + 4_000;
    while (performance.now() < until) {
      loaded.push(await timedLs(normal));
      const started = performance.now();
      const newcomer = await connect(t.port);
      await timedLs(newcomer);
      fresh.push(performance.now() - started);
      newcomer.close();
      await new Promise((r) => setTimeout(r, 150));
    }
    for (const timer of timers.splice(0)) clearInterval(timer);

    console.log(
      `LS latency: quiet median ${fmt(median(quiet))}; with ${IDLE_CLIENTS} idle + 2 slow-loris: median ${fmt(median(loaded))}, ` +
        `max ${fmt(Math.max(...loaded))} over ${loaded.length} LS; new client connect+greeting+LS median ${fmt(median(fresh))}, ` +
        `max ${fmt(Math.max(...fresh))}`,
    );
    expect(loaded.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...loaded)).toBeLessThan(1_000);
    expect(Math.max(...fresh)).toBeLessThan(1_000);

    // The lorises really trickled (a byte a second) and, still inside the
    // frame timeout, are served once their frame is whole.
    for (const loris of lorises) {
      expect(loris.sent()).toBeGreaterThanOrEqual(3);
      expect(loris.conn.closed).toBe(false);
      loris.conn.write(loris.frame.subarray(loris.sent()));
      expect(await loris.conn.frame()).toMatchObject({ code: 200, message: '40 entries' });
    }
    // Nobody in the idle crowd was dropped, and any of them is served at once.
    expect(idle.filter((c) => c.closed)).toHaveLength(0);
    for (const conn of [idle[0], idle[149], idle[299]]) expect(await timedLs(conn)).toBeLessThan(1_000);
  });
});

describe('the frame timeout against slow-loris clients', () => {
  it('closes a connection whose frame trickles in a byte a second once the frame timeout passes', async () => {
    t = await startTestServer({ limits: { frameTimeoutMs: 1_500 } });
    for (let i = 0; i < 40; i++) await t.put(`file-${i}.txt`, '');
    const idle = await connect(t.port);
    const lorises = [await startLoris(t.port), await startLoris(t.port)];

    for (const loris of lorises) {
      await loris.conn.waitClosed(6_000);
      const lived = performance.now() - loris.firstByteAt;
      // A byte a second would keep an inactivity timer alive forever: the
      // deadline runs from the frame's first byte and bytes do not extend it.
      expect(loris.sent()).toBeGreaterThanOrEqual(2);
      expect(lived).toBeGreaterThanOrEqual(1_400);
      expect(lived).toBeLessThan(4_000);
    }
    const reasons = t.log.lines.filter((l) => l.level === 'WARNING' && l.message === 'Closing connection: frame not complete within 1.5 s');
    expect(reasons).toHaveLength(2);

    // A connection that has not started a frame is not a slow loris: it stays, and is served.
    expect(idle.closed).toBe(false);
    expect(await timedLs(idle)).toBeLessThan(1_000);
    const deadline = Date.now() + 3_000;
    while (t.server.activeSessions > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(t.server.activeSessions).toBe(1);
  });
});
