/**
 * Python's ftplib (standard library) against the FTP port, through a small
 * script (helpers/ftplib-session.py): login, storbinary, retrbinary with
 * rest, REST+STOR, mlsd, nlst, LIST, rename, mkd/rmd, delete, size, a 64-bit
 * offset, and FTP_TLS with prot_p verifying the generated certificate. ftplib
 * opens each TLS data connection without resuming the control session.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { announceClient, pattern, runOk, sparseWithTail, startClientServers, type ClientServers } from './helpers/real-clients';

const SCRIPT = path.join(__dirname, 'helpers', 'ftplib-session.py');

let s: ClientServers;

beforeAll(async () => {
  await announceClient('python3', ['-c', 'import ftplib, ssl, sys; print("python3", sys.version.split()[0], "ftplib", ssl.OPENSSL_VERSION)']);
  s = await startClientServers();
});
afterAll(async () => s.stop());

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Run the script in `mode` with `body` as its local up.bin; its JSON report. */
async function session(mode: 'plain' | 'tls', body: Buffer): Promise<Record<string, unknown>> {
  const work = path.join(s.local, mode);
  await fs.mkdir(work, { recursive: true });
  await fs.writeFile(path.join(work, 'up.bin'), body);
  // The server holds the first part of the file the script resumes.
  await s.h.put('partial.bin', body.subarray(0, 77_777));
  const run = await runOk('python3', [SCRIPT, String(s.h.port), mode, s.certFile, work], { timeoutMs: 25_000 });
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

it('plain: transfers, resume both ways, listings, rename, folders, delete, refusals, 64-bit offsets', async () => {
  await s.h.put('listing/a.txt', 'aaa');
  await s.h.put('listing/with space.bin', pattern(5000));
  await fs.mkdir(path.join(s.h.root, 'listing/sub'));
  const when = new Date('2022-02-02T02:02:02Z');
  await fs.utimes(path.join(s.h.root, 'listing/a.txt'), when, when);
  await s.h.put('old.txt', 'renamed by ftplib');
  await s.h.put('doomed.txt', 'x');
  const tail = pattern(2000, 71);
  await sparseWithTail(path.join(s.h.root, 'huge.bin'), 6 * 1024 ** 3 + 1, tail);
  const body = pattern(250_000, 70);

  const seen = await session('plain', body);

  expect(seen.welcome).toMatch(/^220 /);
  expect(seen.login).toMatch(/^230 /);
  expect(seen.stor).toMatch(/^226 /);
  expect(seen.retr).toMatch(/^226 /);
  expect((await s.h.read('up.bin')).equals(body)).toBe(true);
  expect(seen.retr_sha).toBe(sha(body));
  expect(seen.rest_retr_sha).toBe(sha(body.subarray(100_000)));
  expect(seen.partial_had).toBe(77_777);
  expect(seen.rest_stor).toMatch(/^226 /);
  expect((await s.h.read('partial.bin')).equals(body)).toBe(true);

  const mlsd = seen.mlsd as Record<string, Record<string, string>>;
  expect(Object.keys(mlsd).sort()).toEqual(['a.txt', 'sub', 'with space.bin']);
  expect(mlsd['a.txt']).toEqual({ type: 'file', size: '3', modify: '20220202020202' });
  expect(mlsd['with space.bin'].size).toBe('5000');
  expect(mlsd.sub.type).toBe('dir');
  // NLST of a folder names its entries with the folder (as vsftpd and ProFTPD do) or bare; either way, these three.
  expect((seen.nlst as string[]).map((name) => name.replace(/^\/?listing\//, '')).sort()).toEqual(['a.txt', 'sub', 'with space.bin']);
  const list = seen.list as string[];
  expect(list).toHaveLength(3);
  expect(list.find((row) => row.endsWith(' with space.bin'))).toMatch(/^-[rwx-]{9}\s.*\s5000\s/);

  expect(seen.rename).toEqual([expect.stringMatching(/^250 /)]);
  expect((await s.h.read('new.txt')).toString()).toBe('renamed by ftplib');
  expect(seen.mkd).toBe('/made');
  expect(seen.pwd_in_made).toBe('/made');
  expect(seen.rmd).toMatch(/^250 /);
  await expect(fs.access(path.join(s.h.root, 'made'))).rejects.toThrow();
  expect(seen.delete).toMatch(/^250 /);
  await expect(fs.access(path.join(s.h.root, 'doomed.txt'))).rejects.toThrow();
  expect(seen.size).toBe(body.length);
  expect(seen.mdtm).toMatch(/^213 \d{14}$/);
  expect(seen.missing).toMatch(/^550 /);
  expect(seen.after_error).toBe('/');
  expect(seen.huge_size).toBe(6 * 1024 ** 3 + 1);
  expect(seen.huge_tail_sha).toBe(sha(tail));
  expect(seen.quit).toMatch(/^221 /);
  expect(await fs.readdir(s.h.outside)).toEqual([]);
});

it('FTP_TLS with prot_p: login over TLS, transfers and resume both ways, listings', async () => {
  const body = pattern(180_000, 72);
  const seen = await session('tls', body);
  expect(seen.login).toMatch(/^230 /);
  expect(seen.prot).toMatch(/^200 /);
  expect((await s.h.read('up.bin')).equals(body)).toBe(true);
  expect(seen.retr_sha).toBe(sha(body));
  expect(seen.rest_retr_sha).toBe(sha(body.subarray(100_000)));
  expect((await s.h.read('partial.bin')).equals(body)).toBe(true);
  const mlsd = seen.mlsd as Record<string, Record<string, string>>;
  expect(mlsd['up.bin']).toEqual({ type: 'file', size: String(body.length) });
  expect(seen.nlst).toContain('up.bin');
});
