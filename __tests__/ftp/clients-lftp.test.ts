/**
 * lftp against the FTP port: mirroring a folder tree up and down, listing,
 * resuming both ways (REST+RETR, REST+STOR), folder and file commands, and
 * FTPS explicit and implicit verifying the generated certificate.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { announceClient, pattern, runOk, startClientServers, type ClientServers } from './helpers/real-clients';

let s: ClientServers;

beforeAll(async () => {
  await announceClient('lftp', ['--version']);
  s = await startClientServers();
});
afterAll(async () => s.stop());

/**
 * Settings that keep lftp bounded: it retries forever by default. `plain`
 * stops it from upgrading to TLS on its own (it would, seeing AUTH TLS in FEAT).
 */
function settings(mode: 'plain' | 'tls'): string {
  const common = 'set cmd:fail-exit yes; set net:max-retries 1; set net:reconnect-interval-base 1; set net:timeout 10; set xfer:clobber yes; ';
  return mode === 'plain'
    ? `${common}set ftp:ssl-allow no; `
    : `${common}set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate yes; set ssl:ca-file ${s.certFile}; `;
}

function lftp(mode: 'plain' | 'tls', target: string, script: string) {
  return runOk('lftp', ['-c', `${settings(mode)}open -u tester,secret ${target}; ${script}`], { cwd: s.local, timeoutMs: 25_000 });
}

const plain = (): string => `-p ${s.h.port} 127.0.0.1`;
const local = (name: string): string => path.join(s.local, name);

/** Every file under `dir`, relative path → bytes. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(dir, full), await fs.readFile(full));
  }
  return out;
}

async function makeTree(dir: string, seed: number): Promise<void> {
  await fs.mkdir(path.join(dir, 'sub/deeper'), { recursive: true });
  await fs.mkdir(path.join(dir, 'empty'), { recursive: true });
  await fs.writeFile(path.join(dir, 'top.bin'), pattern(10_000, seed));
  await fs.writeFile(path.join(dir, 'name with spaces.txt'), 'spaced\n');
  await fs.writeFile(path.join(dir, 'sub/mid.bin'), pattern(65_536, seed + 1));
  await fs.writeFile(path.join(dir, 'sub/deeper/leaf.bin'), pattern(200_001, seed + 2));
  await fs.writeFile(path.join(dir, 'sub/deeper/zero.bin'), '');
}

it('mirrors a folder tree up (mirror -R) and back down, byte-exact, and lists it', async () => {
  await makeTree(local('src'), 50);
  const run = await lftp('plain', plain(), `mirror -R ${local('src')} /mirrored; cd /mirrored; cls -1; mirror /mirrored ${local('dst')}`);
  expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(['empty/', 'name with spaces.txt', 'sub/', 'top.bin']);
  const original = await tree(local('src'));
  expect(original.size).toBe(5);
  for (const copy of [await tree(path.join(s.h.root, 'mirrored')), await tree(local('dst'))]) {
    expect([...copy.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, bytes] of original) expect(copy.get(name)!.equals(bytes)).toBe(true);
  }
  expect((await fs.stat(path.join(s.h.root, 'mirrored/empty'))).isDirectory()).toBe(true);
  expect((await fs.stat(local('dst/empty'))).isDirectory()).toBe(true);
  // lftp copies the modification time too (MFMT up, MLSD/MDTM down).
  const upTime = (await fs.stat(path.join(s.h.root, 'mirrored/sub/mid.bin'))).mtimeMs;
  expect(Math.abs(upTime - (await fs.stat(local('src/sub/mid.bin'))).mtimeMs)).toBeLessThan(1000);
});

it('lists in long form (ls) with sizes', async () => {
  await s.h.put('ls/one.bin', pattern(777));
  const run = await lftp('plain', plain(), 'ls /ls/');
  expect(run.stdout).toMatch(/^-[rwx-]{9}\s.*\s777\s.*\sone\.bin$/m);
});

it('resumes a download (get -c: REST+RETR) and an upload (put -c: REST+STOR)', async () => {
  const body = pattern(300_000, 51);
  await s.h.put('resume/down.bin', body);
  await fs.writeFile(local('down.bin'), body.subarray(0, 123_456));
  await s.h.put('resume/up.bin', body.subarray(0, 234_567));
  await fs.writeFile(local('up.bin'), body);
  await lftp('plain', plain(), `get -c /resume/down.bin -o ${local('down.bin')}; put -c ${local('up.bin')} -o /resume/up.bin`);
  expect((await fs.readFile(local('down.bin'))).equals(body)).toBe(true);
  expect((await s.h.read('resume/up.bin')).equals(body)).toBe(true);
});

it('makes, renames and removes folders and files', async () => {
  await s.h.put('ops/file.txt', 'content');
  await lftp('plain', plain(), 'mkdir -p /ops/a/b/c; mv /ops/file.txt /ops/a/b/moved.txt; rmdir /ops/a/b/c');
  expect((await s.h.read('ops/a/b/moved.txt')).toString()).toBe('content');
  await expect(fs.access(path.join(s.h.root, 'ops/a/b/c'))).rejects.toThrow();
  await lftp('plain', plain(), 'rm /ops/a/b/moved.txt; rm -r /ops/a');
  expect(await fs.readdir(path.join(s.h.root, 'ops'))).toEqual([]);
});

it('explicit FTPS (AUTH TLS, PROT P): mirrors up and down, puts and gets', async () => {
  await makeTree(local('tls-src'), 60);
  await lftp('tls', plain(), `mirror -R ${local('tls-src')} /tls-mirror; mirror /tls-mirror ${local('tls-dst')}`);
  const original = await tree(local('tls-src'));
  const back = await tree(local('tls-dst'));
  for (const [name, bytes] of original) expect(back.get(name)!.equals(bytes)).toBe(true);
  expect(back.size).toBe(original.size);
});

it('implicit FTPS: lists, puts and gets', async () => {
  const body = pattern(90_000, 61);
  await fs.writeFile(local('implicit.bin'), body);
  const run = await lftp('tls', `ftps://127.0.0.1:${s.implicitPort}`, `put ${local('implicit.bin')} -o /implicit.bin; get /implicit.bin -o ${local('implicit-back.bin')}; cls -1 /`);
  expect((await s.h.read('implicit.bin')).equals(body)).toBe(true);
  expect((await fs.readFile(local('implicit-back.bin'))).equals(body)).toBe(true);
  expect(run.stdout).toContain('implicit.bin');
});
