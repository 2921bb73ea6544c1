import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DOCS_BEGIN, DOCS_END, writeDocs } from '../../bench/markdown';
import type { BenchResult } from '../../bench/results';
import { QUICK_SETTINGS, runBench } from '../../bench/run';
import { openFileLimits, readCpuSeconds, readRssKiB } from '../../bench/server-process';

const PROJECT = path.resolve(__dirname, '..', '..');
/** Whether this machine can run the vsftpd comparison (both programs on PATH). */
const HAS_VSFTPD = ['vsftpd', 'curl'].every((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0);

let work: string;
beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-bench-test-'));
});
afterEach(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('bench --quick', () => {
  it('measures every phase and writes the JSON, the table and the docs section', async () => {
    const docs = path.join(work, 'BENCHMARKS.md');
    await fs.writeFile(docs, '# Benchmarks\n\nNotes written by hand.\n');
    const out = path.join(work, 'results');
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        // The S3 phase has its own test (storage/s3-bench.test.ts): it needs an S3 endpoint, and time.
        ['-r', 'ts-node/register/transpile-only', 'bench/bench.ts', '--quick', '--skip', 's3', '--out', out, '--write-docs', '--docs-file', docs, '--json'],
        // TMPDIR inside `work`, so what the run leaves behind can be seen.
        { cwd: PROJECT, timeout: 110_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, TMPDIR: work } },
        (err, o, e) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: o, stderr: e }),
      );
    });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

    const files = await fs.readdir(out);
    expect(files).toHaveLength(1);
    const saved = JSON.parse(await fs.readFile(path.join(out, files[0]), 'utf8')) as BenchResult;
    expect(JSON.parse(stdout)).toEqual(saved);

    const positive: Array<[string, number | undefined]> = [
      ['loopback 128 KiB', saved.loopback?.write128k.median],
      ['loopback 1 MiB', saved.loopback?.write1m.median],
      ['sha256', saved.sha256?.median],
      ['download', saved.download?.median],
      ['download of loopback', saved.download?.ofLoopback1m],
      ['hash share', saved.download?.hashShareOfTime],
      ['upload', saved.upload?.median],
      ['first upload', saved.uploadFirst?.median],
      ['raw download', saved.rawDownload?.median],
      ['raw upload', saved.rawUpload?.median],
      ['upload of loopback', saved.upload?.ofLoopback128k],
      ['burst wall', saved.burst?.wallMs],
      ['burst clients/s', saved.burst?.clientsPerSec],
      ['burst p50', saved.burst?.p50Ms],
      ['burst p99', saved.burst?.p99Ms],
      ['in-flight clients/s', saved.inFlight?.clientsPerSec],
      ['in-flight p99', saved.inFlight?.p99Ms],
      ['idle per session', saved.idle?.perSessionKiB],
      ['idle per session at rest', saved.idle?.perSessionRestingKiB],
      ['idle baseline', saved.idle?.baselineKiB],
      ['sequential GETs/s', saved.gets?.sequential.median],
      ['pipelined GETs/s', saved.gets?.pipelined.median],
      ['cores', saved.machine.cpus],
      ['memory', saved.machine.memoryBytes],
    ];
    const notPositive = positive.filter(([, value]) => !(typeof value === 'number' && Number.isFinite(value) && value > 0));
    expect(notPositive).toEqual([]);
    expect(saved.burst?.clients).toBe(QUICK_SETTINGS.burstClients);
    expect(saved.burst?.failuresTotal).toBe(0);
    expect(saved.inFlight?.failuresTotal).toBe(0);
    expect(saved.idle?.perRun[0].held).toBe(QUICK_SETTINGS.idleSessions);
    expect(saved.download?.bytes).toBe(4 * 1024 * 1024);
    expect(saved.machine.node).toBe(process.version);
    expect(saved.peers).toBeUndefined();

    // The uploads phase: every contender ran, once each (quick), alternated in one run.
    const uploads = saved.uploads!;
    const contenders = ['dd', 'raw', 'library', 'library-first', ...(HAS_VSFTPD ? ['vsftpd'] : [])];
    expect(uploads.order).toEqual(contenders);
    expect(Object.keys(uploads.figures).sort()).toEqual([...contenders].sort());
    for (const key of contenders) {
      const figure = uploads.figures[key];
      expect(figure.runs).toHaveLength(QUICK_SETTINGS.runs);
      expect(figure.median).toBe(figure.runs[0]);
      expect(figure.median).toBeGreaterThan(0);
    }
    for (const key of ['raw', 'library', 'library-first', ...(HAS_VSFTPD ? ['vsftpd'] : [])]) {
      expect(uploads.figures[key].serverCpuSecPerGiB).toBeGreaterThanOrEqual(0);
    }
    expect(uploads.figures.dd.serverCpuSecPerGiB).toBeUndefined();
    expect(uploads.vsftpdSkipped === undefined).toBe(HAS_VSFTPD);
    expect(saved.rawUpload?.median).toBe(uploads.figures.raw.median);
    expect(saved.upload?.median).toBe(uploads.figures.library.median);
    expect(uploads.serverRssGrowthKiB).toBeGreaterThanOrEqual(0);

    // The FTP phase: our FTP port and vsftpd, RETR and STOR with curl, and a crowd at once, none of ours lost.
    const ftp = saved.ftp!;
    expect(ftp.bytes).toBe(QUICK_SETTINGS.fileSize);
    for (const figures of [ftp.ours, ...(HAS_VSFTPD ? [ftp.vsftpd!] : [])]) {
      for (const kind of ['retr', 'stor'] as const) {
        expect(figures[kind].runs).toHaveLength(QUICK_SETTINGS.runs);
        expect(figures[kind].median).toBeGreaterThan(0);
      }
    }
    expect(ftp.vsftpd === undefined).toBe(!HAS_VSFTPD);
    expect(ftp.vsftpdSkipped === undefined).toBe(HAS_VSFTPD);
    expect(ftp.crowd.ours).toHaveLength(QUICK_SETTINGS.runs);
    expect(ftp.crowd.ours.map((run) => [run.clients, run.failures, run.failureSamples])).toEqual([[QUICK_SETTINGS.burstClients, 0, {}]]);
    // vsftpd's losses are a figure, not a failure of ours: only that the crowd ran.
    if (HAS_VSFTPD) expect(ftp.crowd.vsftpd!.map((run) => run.clients)).toEqual([QUICK_SETTINGS.burstClients]);

    const text = await fs.readFile(docs, 'utf8');
    expect(text).toMatch(/^# Benchmarks\n\nNotes written by hand\.\n/);
    expect(text).toContain(DOCS_BEGIN);
    expect(text).toMatch(/\| 4 MiB download, client library \(SHA-256 checked\) \| [\d,]+ MB\/s \|/);
    expect(text).toMatch(/\| target \(issues 5, 12 and 13\) \| goal \| measured \| status \|/);
    expect(text).toContain('| upload | median | runs range | of vsftpd | of dd | server CPU per GiB |');
    expect(text).toMatch(/\| 4 MiB upload, byte-moving client \(as curl\), at least 0\.9× vsftpd's STOR \(same run\) \|/);
    expect(text).toMatch(/\| 4 MiB upload, client library, first upload \(hashes the file first\), at least 0\.6× vsftpd's STOR \(same run\) \|/);
    expect(text).toContain('| FTP transfer | median | runs range | of vsftpd |');
    expect(text).toMatch(/\| RETR 4 MiB, our FTP port, curl \| [\d,]+ MB\/s \|/);
    expect(text).toMatch(/\| our FTP port \| 20 × 1 \| 0 \|/);
    expect(text).toMatch(/\| 20 FTP clients at once, none lost \| 0 lost \| 0 lost in 1 runs/);
    // Nothing of the run is left in its temp folder.
    expect((await fs.readdir(work)).filter((name) => name.startsWith('ftp-'))).toEqual([]);
  }, 120_000);
});

describe('bench helpers', () => {
  it('replaces only the generated section of the docs', async () => {
    const file = path.join(work, 'B.md');
    await fs.writeFile(file, `intro\n\n${DOCS_BEGIN}\nold table\n${DOCS_END}\n\nhonest notes\n`);
    await writeDocs(file, 'new table');
    expect(await fs.readFile(file, 'utf8')).toBe(`intro\n\n${DOCS_BEGIN}\nnew table\n${DOCS_END}\n\nhonest notes\n`);
  });

  // Without an open-file limit there is nothing to exceed: the test is skipped, not passed.
  (Number.isFinite(openFileLimits().soft) ? it : it.skip)('refuses, before doing anything, an idle test the open-file limit cannot hold', async () => {
    const { soft } = openFileLimits();
    await expect(runBench({ ...QUICK_SETTINGS, idleSessions: soft + 1 }, 'test', () => {})).rejects.toThrow(/ulimit -n/);
  });

  (process.platform === 'linux' ? it : it.skip)('reads a process resident size and CPU time from /proc', () => {
    expect(readRssKiB(process.pid)).toBeGreaterThan(1000);
    expect(readRssKiB(2 ** 22 + 7)).toBeNaN();
    // This process has run for a while; a missing one has no figure.
    const cpu = readCpuSeconds(process.pid);
    expect(cpu).toBeGreaterThan(0);
    expect(readCpuSeconds(process.pid, true)).toBeLessThanOrEqual(cpu);
    expect(readCpuSeconds(2 ** 22 + 7)).toBeNaN();
  });
});
