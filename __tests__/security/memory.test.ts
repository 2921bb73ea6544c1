/**
 * Server memory under large transfers (issue 4): the real CLI runs in its own
 * process so its RSS can be read from /proc. A 500 MB download to a client
 * that never reads must not pile up in the server (backpressure), and the
 * stall timeout must end it; a fast 500 MB upload must stream to disk.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { RawConnection } from '../helpers/raw-connection';
import { mib, readRss, sampleRss, spawnServer, type ServerProcess } from '../helpers/server-process';

jest.setTimeout(60_000);

const FILE_BYTES = 500 * 1024 * 1024;
/** The bound the server's RSS growth must stay under while a transfer runs. */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;
const TRANSFER_TIMEOUT_S = 5;

let base: string;
let root: string;
let server: ServerProcess | undefined;
const open: RawConnection[] = [];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-memory-'));
  root = path.join(base, 'root');
  await fs.mkdir(root);
  server = await spawnServer(
    ['--host', '127.0.0.1', '--port', '0', '--root', root, '--log-dir', path.join(base, 'logs'), '--transfer-timeout', String(TRANSFER_TIMEOUT_S)],
    base,
  );
});

afterEach(async () => {
  for (const conn of open.splice(0)) conn.close();
  try {
    await server?.stop();
  } finally {
    server = undefined;
    await fs.rm(base, { recursive: true, force: true });
  }
});

async function connect(port: number): Promise<RawConnection> {
  const { conn, greeting } = await RawConnection.open(port);
  open.push(conn);
  expect(greeting).toMatchObject({ code: 200 });
  return conn;
}

/**
 * The server's RSS once it has served a first session (so lazily loaded code
 * and first buffers are counted): the highest of a few samples.
 */
async function baselineRss(s: ServerProcess): Promise<number> {
  const warm = await connect(s.port);
  expect(await warm.request('LS')).toMatchObject({ code: 200 });
  warm.close();
  let highest = 0;
  for (let i = 0; i < 5; i++) {
    highest = Math.max(highest, await readRss(s.pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  return highest;
}

function report(what: string, baseline: number, samples: number[]): number {
  const peak = Math.max(...samples);
  console.log(
    `${what}: server RSS baseline ${mib(baseline)}, peak ${mib(peak)}, delta ${mib(peak - baseline)} ` +
      `(${samples.length} samples; bound ${mib(RSS_GROWTH_BOUND)})`,
  );
  return peak - baseline;
}

it('keeps RSS bounded while a 500 MB download goes to a client that never reads, then ends it on stall', async () => {
  const s = server!;
  const big = path.join(root, 'big.bin');
  await fs.writeFile(big, '');
  await fs.truncate(big, FILE_BYTES); // sparse: instant, and reads as zeros
  const baseline = await baselineRss(s);

  const conn = await connect(s.port);
  conn.socket.pause();
  const sentAt = performance.now();
  conn.command('GET', { filename: 'big.bin' });
  const sampler = sampleRss(s.pid, 100);
  await new Promise((r) => setTimeout(r, 3_000));
  const samples = await sampler.stop();
  expect(samples.length).toBeGreaterThanOrEqual(10);
  expect(report('500 MB download, client not reading', baseline, samples)).toBeLessThan(RSS_GROWTH_BOUND);

  // The stall timeout, not anything earlier, ends the transfer.
  await s.waitForOutput(/download stalled for 5 s/, 15_000);
  expect(performance.now() - sentAt).toBeGreaterThanOrEqual(TRANSFER_TIMEOUT_S * 1_000 - 500);
  conn.socket.resume();
  await conn.waitClosed(10_000);
  // The download did start, and only what socket buffers hold ever left the server.
  const delivered = conn.socket.bytesRead;
  console.log(`bytes that reached the non-reading client before the stall: ${mib(delivered)}`);
  expect(delivered).toBeGreaterThan(64 * 1024);
  expect(delivered).toBeLessThan(RSS_GROWTH_BOUND);

  // The server is still fine for the next client, then exits cleanly on SIGTERM.
  const next = await connect(s.port);
  expect(await next.request('STAT', { filename: 'big.bin' })).toMatchObject({ code: 200, file: { size: FILE_BYTES } });
  next.close();
  expect(await s.stop()).toBe(0);
});

it('keeps RSS bounded while a client uploads 500 MB as fast as it can', async () => {
  const s = server!;
  const baseline = await baselineRss(s);
  const conn = await connect(s.port);
  expect(await conn.request('PUT', { filename: 'up.bin', size: FILE_BYTES })).toMatchObject({ code: 150 });

  const sampler = sampleRss(s.pid, 100);
  const started = performance.now();
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  for (let sent = 0; sent < FILE_BYTES; sent += chunk.length) {
    // Honour backpressure on our side, so the only buffering measured is the server's.
    if (!conn.socket.write(chunk)) await once(conn.socket, 'drain');
  }
  const result = await conn.frame(45_000);
  const seconds = (performance.now() - started) / 1000;
  const samples = await sampler.stop();

  expect(result).toMatchObject({ type: 'response', code: 226, bytes_received: FILE_BYTES });
  console.log(`500 MB upload took ${seconds.toFixed(1)} s (${(FILE_BYTES / 1024 / 1024 / seconds).toFixed(0)} MiB/s)`);
  expect(report('500 MB upload', baseline, samples)).toBeLessThan(RSS_GROWTH_BOUND);
  expect((await fs.stat(path.join(root, 'up.bin'))).size).toBe(FILE_BYTES);
  // Only the committed file remains: no temporary upload file beside it.
  expect(await fs.readdir(root)).toEqual(['up.bin']);
  conn.close();
  expect(await s.stop()).toBe(0);
});
