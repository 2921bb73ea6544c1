import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError } from '../../src/client/errors';
import { compareContent, digestOf, HashingSink, randomBytesOf, verifyBuffer } from '../../src/tools/integrity';
import { LatencyRecorder, median, percentile, summarise } from '../../src/tools/latency';
import { parseSize } from '../../src/tools/sizes';
import { main } from '../../src/tools/stress';
import { IntegrityError, OP_NAMES, pickOp, SessionState, type SeedSet } from '../../src/tools/stress-mix';
import { STRESS_EXIT, stressExitCode } from '../../src/tools/stress-report';
import { runStress, STRESS_DEFAULTS, type StressReport } from '../../src/tools/stress-run';
import { classifyFailure } from '../../src/tools/stress-stats';
import { startTestServer, type TestServer } from '../helpers/test-server';

const PROJECT = path.resolve(__dirname, '..', '..');

/** A deterministic [0, 1) source, so mixes are reproducible. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('latency', () => {
  it('takes nearest-rank percentiles and medians', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarise([5, 1, 3])).toMatchObject({ count: 3, p50: 3, max: 5, mean: 3 });
  });

  it('keeps memory bounded past its cap but counts and maxes exactly', () => {
    const recorder = new LatencyRecorder(10, lcg(1));
    for (let i = 1; i <= 10; i++) recorder.record(i);
    expect(recorder.kept).toBe(10);
    for (let i = 11; i <= 100_000; i++) {
      recorder.record(i);
      // Checked after every sample, not only at the end: the store never grows past its cap.
      if (recorder.kept !== 10) throw new Error(`${recorder.kept} samples held after ${i} recorded`);
    }
    const summary = recorder.summary();
    expect(summary.count).toBe(100_000);
    expect(summary.max).toBe(100_000);
    // What is kept is a sample of everything seen, not the first ten.
    expect(summary.p99).toBeGreaterThan(10);
  });

  it('refuses a cap that is not a positive whole number', () => {
    for (const cap of [0, -1, 2.5, Number.NaN]) expect(() => new LatencyRecorder(cap)).toThrow(RangeError);
  });
});

describe('integrity check', () => {
  const original = randomBytesOf(64 * 1024);
  const expected = digestOf(original);

  it('accepts the very bytes', () => {
    expect(verifyBuffer(expected, Buffer.from(original))).toBeNull();
  });

  it('flags one flipped bit, a missing byte and an extra byte', () => {
    const flipped = Buffer.from(original);
    flipped[12_345] ^= 0x01;
    expect(verifyBuffer(expected, flipped)).toMatch(/sha256/);
    expect(verifyBuffer(expected, original.subarray(0, original.length - 1))).toMatch(/size/);
    expect(verifyBuffer(expected, Buffer.concat([original, Buffer.of(0)]))).toMatch(/size/);
  });

  it('hashes a stream in pieces to the same digest', async () => {
    const sink = new HashingSink();
    for (let i = 0; i < original.length; i += 1000) sink.write(original.subarray(i, i + 1000));
    await new Promise((resolve) => sink.end(resolve));
    expect(compareContent(expected, sink.digest())).toBeNull();
  });

  it('sorts failures: integrity is always fatal, network faults are connection failures', () => {
    expect(classifyFailure(new IntegrityError('x'))).toBe('integrity');
    expect(classifyFailure(new FtpError('integrity', 'x', 422))).toBe('integrity');
    expect(classifyFailure(new FtpError('network', 'x'))).toBe('connection');
    expect(classifyFailure(new FtpError('not_found', 'x', 404))).toBe('command');
    const report = { integrityFailures: 1, ops: 10, errors: 1, cleanedUp: true } as StressReport;
    expect(stressExitCode(report, true)).toBe(STRESS_EXIT.integrity);
    expect(stressExitCode({ ...report, integrityFailures: 0 }, false)).toBe(STRESS_EXIT.errors);
    expect(stressExitCode({ ...report, integrityFailures: 0 }, true)).toBe(STRESS_EXIT.ok);
  });
});

describe('mix', () => {
  const seeds: SeedSet = { folder: 'stress-x', small: [], large: [] };

  it('never deletes, renames or removes what the session does not have', () => {
    const state = new SessionState('stress-x/c0', seeds, STRESS_DEFAULTS.sizes, lcg(7));
    const drawn = new Set<string>();
    for (let i = 0; i < 2000; i++) drawn.add(pickOp(state));
    for (const never of ['RENAME', 'DELETE', 'RMDIR']) expect(drawn).not.toContain(never);
    expect(drawn).toEqual(new Set(['LS', 'STAT', 'GET', 'GET-large', 'PUT', 'PUT-large', 'MKDIR']));
  });

  it('parses sizes with binary units', () => {
    expect(parseSize('64KiB')).toBe(65_536);
    expect(parseSize('4M')).toBe(4 * 1024 ** 2);
    expect(parseSize('1000')).toBe(1000);
    expect(() => parseSize('lots')).toThrow(/not a size/);
  });
});

describe('runStress against a real server', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('reports integrity failures when the served files are not what was put there', async () => {
    const report = await runStress({
      ...STRESS_DEFAULTS,
      sizes: { smallMin: 4096, smallMax: 8192, large: 64 * 1024 },
      host: '127.0.0.1',
      port: server.port,
      clients: 2,
      durationSec: 1,
      liveIntervalMs: 0,
      // GET-large always reads a seed: with cover it runs at least once, however few commands a loaded machine gets through.
      cover: true,
      // Replace every seed behind the server's back with other bytes of the same size.
      afterSeed: async (seeds) => {
        for (const file of [...seeds.small, ...seeds.large]) {
          await fs.writeFile(path.join(server.root, file.path), randomBytesOf(file.digest.size));
        }
      },
    });
    expect(report.ops).toBeGreaterThan(0);
    expect(report.integrityFailures).toBeGreaterThan(0);
    expect(report.errorSamples.some((s) => /^GET(-large)?: GET stress-[^/]+\/(small|large)-\d\.bin: received sha256/.test(s.message))).toBe(true);
    expect(stressExitCode(report, true)).toBe(STRESS_EXIT.integrity);
    expect(report.cleanedUp).toBe(true);
    expect(await fs.readdir(server.root)).toEqual([]);
  });
  it('with cover, runs every command of the mix once even when the duration is over at once', async () => {
    const report = await runStress({
      ...STRESS_DEFAULTS,
      sizes: { smallMin: 1024, smallMax: 2048, large: 16 * 1024 },
      host: '127.0.0.1',
      port: server.port,
      clients: 2,
      durationSec: 0.001,
      liveIntervalMs: 0,
      cover: true,
    });
    expect(report.errors).toBe(0);
    for (const name of OP_NAMES) expect({ name, ran: (report.commands[name]?.count ?? 0) > 0 }).toEqual({ name, ran: true });
    expect(report.cleanedUp).toBe(true);
    expect(await fs.readdir(server.root)).toEqual([]);
  });

  it('without cover, stops at the duration: each session ends with the command it began', async () => {
    const report = await runStress({
      ...STRESS_DEFAULTS,
      sizes: { smallMin: 1024, smallMax: 2048, large: 16 * 1024 },
      host: '127.0.0.1',
      port: server.port,
      clients: 2,
      durationSec: 0.001,
      liveIntervalMs: 0,
    });
    // The deadline passes before or while the sessions connect: each runs at most the one command it began.
    const connects = report.commands.CONNECT?.count ?? 0;
    expect(connects).toBeLessThanOrEqual(2);
    expect(report.ops - connects).toBeLessThanOrEqual(connects);
    expect(report.cleanedUp).toBe(true);
  });
});

describe('stress CLI', () => {
  it('runs 3 clients for 2 s against a server it spawns, covers every command, and reports clean JSON', async () => {
    // A loaded machine gets through only a handful of random commands in 2 s
    // (seen: 7, none of them a PUT); --cover runs on until each has run once.
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', 'src/tools/stress.ts', '--spawn', '--clients', '3', '--duration', '2', '--cover', '--json', '--large-size', '1MiB'],
        { cwd: PROJECT, timeout: 110_000 },
        (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(stdout) as StressReport;
    expect(report.clients).toBe(3);
    expect(report.integrityFailures).toBe(0);
    expect(report.errors).toBe(0);
    expect(report.cleanedUp).toBe(true);
    for (const name of OP_NAMES) {
      expect({ name, count: report.commands[name]?.count }).toEqual({ name, count: expect.any(Number) });
      expect(report.commands[name]!.count).toBeGreaterThan(0);
      expect(report.commands[name]!.errors).toBe(0);
    }
    const counted = OP_NAMES.reduce((sum, name) => sum + report.commands[name]!.count, 0);
    expect(report.ops).toBe(counted);
    expect(report.bytes).toBeGreaterThan(0);
    expect(report.seconds).toBeGreaterThanOrEqual(2);
    expect(report.commands.GET?.p99).toBeGreaterThan(0);
    // The human table goes to stderr with --json, after the live lines.
    expect(stderr).toMatch(/command\s+count\s+errors\s+p50 ms\s+p95 ms\s+p99 ms\s+max ms/);
    expect(stderr).toMatch(/ops\/s +\d+ +MB\/s +[\d.]+ +errors 0 +integrity 0 +active \d\/3/);
  }, 120_000);

  it('refuses bad options with exit code 2', async () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--clients', '0', '--spawn'])).toBe(STRESS_EXIT.usage);
      expect(await main(['--large-size', '1K'])).toBe(STRESS_EXIT.usage);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toMatch(/--clients must be/);
    } finally {
      write.mockRestore();
    }
  });
});
