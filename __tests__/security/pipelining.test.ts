/**
 * Issue 10, finding 1: one connection pipelines thousands of commands whose
 * answers are large (GETs of a 64 KiB file, LS of a big folder) and never
 * reads. The server must stop reading commands while its unsent answers
 * exceed a small bound, so its memory stays flat, and every answer must
 * still arrive, in order, once the client reads. The real CLI runs in its
 * own process so its RSS can be read from /proc.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { PullConnection } from '../helpers/pull-connection';
import { mib, readRss, sampleRss, spawnServer, type ServerProcess } from '../helpers/server-process';

// Generous: on a loaded 2-core machine a child server takes up to ~0.1 s per small GET.
jest.setTimeout(300_000);

/**
 * The bound the server's RSS growth must stay under. Measured with the fix:
 * 6-9 MiB for the GETs, 9-21 MiB for the LSs (building each 1 MB listing
 * leaves garbage); without it, the GETs grew it by 70 MiB and more, the LSs
 * by 200 MiB.
 */
const RSS_GROWTH_BOUND = 48 * 1024 * 1024;
const SMALL_BYTES = 64 * 1024;
/** 1,000 answers of 64 KiB: 64 MiB the server would hold if it kept reading. */
const GETS = 1_000;
/**
 * The share of the attack's commands the server may run before it stops
 * reading: those whose answers fit in the two kernels' socket buffers (about
 * 4 MB here: 64-68 GETs of 64 KiB, or 5 listings of 1 MB) plus the bound.
 */
const MAX_COMMANDS_RUN_FRACTION = 0.25;

let base: string;
let root: string;
let server: ServerProcess | undefined;
const open: PullConnection[] = [];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-pipelining-'));
  root = path.join(base, 'root');
  await fs.mkdir(root);
  server = await spawnServer(
    ['--host', '127.0.0.1', '--port', '0', '--root', root, '--log-dir', path.join(base, 'logs'), '--transfer-timeout', '120'],
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

async function connect(port: number): Promise<PullConnection> {
  const { conn, greeting } = await PullConnection.open(port);
  open.push(conn);
  expect(greeting).toMatchObject({ code: 200 });
  return conn;
}

/** The server's RSS after a first session, the highest of a few samples. */
async function baselineRss(s: ServerProcess, warmUp: (conn: PullConnection) => Promise<void>): Promise<number> {
  const warm = await connect(s.port);
  await warmUp(warm);
  warm.close();
  let highest = 0;
  for (let i = 0; i < 5; i++) {
    highest = Math.max(highest, await readRss(s.pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  return highest;
}

const commandsLogged = (s: ServerProcess, name: string) => s.output().split(`Command: ${name} `).length - 1;

/**
 * Send every frame in one write and read nothing until the server has done
 * all it will do (its count of `name` commands run has not moved for a
 * second), sampling its RSS all along. Returns the RSS growth and that count.
 */
async function attack(s: ServerProcess, conn: PullConnection, frames: Buffer[], name: string, sent: number, what: string, baseline: number) {
  conn.write(Buffer.concat(frames));
  const sampler = sampleRss(s.pid, 100);
  const deadline = Date.now() + 90_000;
  let run = -1;
  let stableSince = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = commandsLogged(s, name);
    if (now !== run) {
      run = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 1_000 || Date.now() > deadline) {
      break;
    }
  }
  const samples = await sampler.stop();
  const growth = Math.max(...samples) - baseline;
  console.log(
    `${what}: the server ran ${run} of the ${sent} ${name} commands before it stopped reading; ` +
      `RSS baseline ${mib(baseline)}, growth ${mib(growth)} (bound ${mib(RSS_GROWTH_BOUND)})`,
  );
  return { growth, run };
}

it('keeps RSS flat while a client pipelines thousands of small GETs without reading, then answers each in order', async () => {
  const s = server!;
  const content = randomBytes(SMALL_BYTES);
  await fs.writeFile(path.join(root, 'small.bin'), content);
  const baseline = await baselineRss(s, async (warm) => {
    expect(await warm.request('GET', { filename: 'small.bin' })).toMatchObject({ code: 200 });
    await warm.bytes(SMALL_BYTES);
    await warm.frame();
  });

  const conn = await connect(s.port);
  // Each GET asks for a different offset, so the answers show their order.
  const frames = Array.from({ length: GETS }, (_, i) =>
    encodeFrame({ type: 'command', command: 'GET', filename: 'small.bin', offset: i }),
  );
  const { growth, run } = await attack(s, conn, frames, 'GET', GETS, `${GETS} pipelined GETs of 64 KiB`, baseline);
  expect(run).toBeGreaterThan(0);
  expect(run).toBeLessThan(GETS * MAX_COMMANDS_RUN_FRACTION);
  expect(growth).toBeLessThan(RSS_GROWTH_BOUND);

  for (let i = 0; i < GETS; i++) {
    const header = await conn.frame(20_000);
    expect(header).toMatchObject({ type: 'response', code: 200, offset: i, size: SMALL_BYTES });
    const payload = await conn.bytes(SMALL_BYTES - i, 20_000);
    if (!payload.equals(content.subarray(i))) throw new Error(`payload ${i} differs`);
    const trailer = await conn.frame(20_000);
    expect(trailer).toMatchObject({ type: 'transfer', code: 226, bytes: SMALL_BYTES - i });
  }
  // Nothing was lost or added, and the connection is still in step.
  expect(await conn.request('STAT', { filename: 'small.bin' })).toMatchObject({ code: 200, file: { size: SMALL_BYTES } });
});

it('keeps RSS flat while a client pipelines LS of a big folder without reading, then answers each in order', async () => {
  const s = server!;
  const entries = 4_000;
  const listings = 40;
  const folder = path.join(root, 'big');
  await fs.mkdir(folder);
  // Long names make each listing about 1 MB: 40 MB the server would hold if it kept reading.
  const stem = 'x'.repeat(200);
  const nameOf = (i: number) => `${stem}-${String(i).padStart(5, '0')}`;
  for (let i = 0; i < entries; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, entries - i) }, (_, j) => fs.writeFile(path.join(folder, nameOf(i + j)), '')));
  }
  const baseline = await baselineRss(s, async (warm) => {
    expect(await warm.request('LS', { path: 'big' })).toMatchObject({ code: 200 });
  });

  const conn = await connect(s.port);
  // LS of the big folder, each followed by a STAT whose answer names its place.
  const frames: Buffer[] = [];
  for (let i = 0; i < listings; i++) {
    frames.push(encodeFrame({ type: 'command', command: 'LS', path: 'big' }));
    frames.push(encodeFrame({ type: 'command', command: 'STAT', filename: `big/${nameOf(i)}` }));
  }
  const { growth, run } = await attack(s, conn, frames, 'LS', listings, `${listings} pipelined LS of ${entries} entries (each followed by a STAT)`, baseline);
  expect(run).toBeGreaterThan(0);
  expect(run).toBeLessThan(listings * MAX_COMMANDS_RUN_FRACTION);
  expect(growth).toBeLessThan(RSS_GROWTH_BOUND);

  for (let i = 0; i < listings; i++) {
    const listing = await conn.frame(20_000);
    expect(listing).toMatchObject({ type: 'response', code: 200 });
    expect((listing.files as unknown[]).length).toBe(entries);
    expect(await conn.frame(20_000)).toMatchObject({ type: 'response', code: 200, file: { name: nameOf(i) } });
  }
  expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
});
