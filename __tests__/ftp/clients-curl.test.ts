/**
 * curl, run as users run it, against the FTP port: uploads, downloads,
 * resume both ways, listings, quoted commands, active mode, and FTPS
 * explicit and implicit with the generated certificate as the only CA.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { announceClient, pattern, runClient, runOk, sparseWithTail, startClientServers, type ClientServers } from './helpers/real-clients';

let s: ClientServers;
let base: string;

beforeAll(async () => {
  await announceClient('curl', ['--version']);
  s = await startClientServers();
  base = `ftp://tester:secret@127.0.0.1:${s.h.port}`;
});
afterAll(async () => s.stop());

/** curl, quiet but with its errors; every call bounded. */
function curl(...args: string[]) {
  return runOk('curl', ['--silent', '--show-error', '--max-time', '15', ...args], { cwd: s.local });
}

const local = (name: string): string => path.join(s.local, name);

it('uploads (-T) and downloads byte-exact, in passive (EPSV and PASV) and active (EPRT and PORT) mode', async () => {
  const body = pattern(400_000, 41);
  await fs.writeFile(local('up.bin'), body);
  await curl('-T', local('up.bin'), `${base}/up.bin`);
  expect((await s.h.read('up.bin')).equals(body)).toBe(true);

  await curl('-o', local('down-epsv.bin'), `${base}/up.bin`);
  await curl('--disable-epsv', '-o', local('down-pasv.bin'), `${base}/up.bin`);
  // Active mode: the server connects back to curl, on the client's own address only.
  await curl('--ftp-port', '127.0.0.1', '-o', local('down-eprt.bin'), `${base}/up.bin`);
  await curl('--ftp-port', '127.0.0.1', '--disable-eprt', '-o', local('down-port.bin'), `${base}/up.bin`);
  for (const name of ['down-epsv.bin', 'down-pasv.bin', 'down-eprt.bin', 'down-port.bin']) {
    expect((await fs.readFile(local(name))).equals(body)).toBe(true);
  }
});

it('resumes a download (-C -: SIZE, REST, RETR) and an upload (-C - -T: SIZE, APPE)', async () => {
  const body = pattern(300_000, 42);
  await s.h.put('resume-down.bin', body);
  await fs.writeFile(local('partial.bin'), body.subarray(0, 111_111));
  const trace = await curl('--verbose', '-C', '-', '-o', local('partial.bin'), `${base}/resume-down.bin`);
  expect(trace.stderr).toContain('> REST 111111');
  expect((await fs.readFile(local('partial.bin'))).equals(body)).toBe(true);

  await s.h.put('resume-up.bin', body.subarray(0, 222_222));
  await fs.writeFile(local('whole.bin'), body);
  const up = await curl('--verbose', '-C', '-', '-T', local('whole.bin'), `${base}/resume-up.bin`);
  expect(up.stderr).toContain('> APPE resume-up.bin');
  expect((await s.h.read('resume-up.bin')).equals(body)).toBe(true);
});

it('downloads a range past 4 GiB (REST with a 64-bit offset) from a sparse file', async () => {
  const size = 4 * 1024 ** 3 + 4096;
  const tail = pattern(4096, 43);
  await sparseWithTail(path.join(s.h.root, 'big/sparse.bin'), size, tail);
  await curl('-r', `${size - tail.length}-`, '-o', local('tail.bin'), `${base}/big/sparse.bin`);
  expect((await fs.readFile(local('tail.bin'))).equals(tail)).toBe(true);
  // --head asks SIZE and MDTM only.
  const head = await curl('--head', `${base}/big/sparse.bin`);
  expect(head.stdout).toContain(`Content-Length: ${size}`);
});

it('lists a folder (LIST) and its names (--list-only: NLST)', async () => {
  await s.h.put('listed/one.txt', '1');
  await s.h.put('listed/two words.txt', '22');
  await s.h.put('listed/sub/x.txt', 'x');
  const long = await curl(`${base}/listed/`);
  const rows = long.stdout.trim().split('\n');
  expect(rows).toHaveLength(3);
  // ls -l style: type and permissions, then the size before the date, the name last.
  expect(rows.find((row) => row.endsWith(' two words.txt'))).toMatch(/^-[rwx-]{9}\s.*\s2\s+\w{3}\s+\d+\s+[\d:]+\s+two words\.txt$/);
  expect(rows.find((row) => row.endsWith(' sub'))).toMatch(/^d/);
  const names = await curl('--list-only', `${base}/listed/`);
  expect(names.stdout.trim().split(/\r?\n/).sort()).toEqual(['one.txt', 'sub', 'two words.txt']);
});

it('runs quoted commands (-Q): MKD, RNFR/RNTO, DELE, RMD; and makes missing folders on upload', async () => {
  await s.h.put('q/old.txt', 'old');
  await s.h.put('q/doomed.txt', 'x');
  await curl('-Q', 'MKD q/made', '-Q', 'RNFR q/old.txt', '-Q', 'RNTO q/made/new.txt', '-Q', 'DELE q/doomed.txt', `${base}/q/`);
  expect((await s.h.read('q/made/new.txt')).toString()).toBe('old');
  await expect(fs.access(path.join(s.h.root, 'q/doomed.txt'))).rejects.toThrow();
  await curl('-Q', 'DELE q/made/new.txt', '-Q', 'RMD q/made', `${base}/q/`);
  await expect(fs.access(path.join(s.h.root, 'q/made'))).rejects.toThrow();

  await fs.writeFile(local('nested.txt'), 'deep');
  await curl('--ftp-create-dirs', '-T', local('nested.txt'), `${base}/made/by/curl/nested.txt`);
  expect((await s.h.read('made/by/curl/nested.txt')).toString()).toBe('deep');
});

it('fails clearly on a missing file or a path out of the root, and touches nothing outside', async () => {
  const missing = await runClient('curl', ['--silent', '--max-time', '15', '-o', local('nothing.bin'), `${base}/missing.bin`]);
  // 78: "the resource referenced in the URL does not exist" (the server said 550).
  expect(missing.code).toBe(78);
  // curl climbs with CWD .. twice; above the root is the root, as in a chroot.
  await curl('-T', local('nested.txt'), `${base}/%2E%2E/%2E%2E/escaped.txt`);
  expect((await s.h.read('escaped.txt')).toString()).toBe('deep');
  // A single-CWD path climbing out is clamped the same way.
  await curl('--ftp-method', 'singlecwd', '-o', local('clamped.txt'), `${base}/%2E%2E/%2E%2E/escaped.txt`);
  expect((await fs.readFile(local('clamped.txt'))).toString()).toBe('deep');
  expect(await fs.readdir(s.h.outside)).toEqual([]);
  await expect(fs.access(path.join(path.dirname(s.h.root), 'escaped.txt'))).rejects.toThrow();
});

describe('FTPS with the generated certificate as the only trusted CA', () => {
  it('explicit (AUTH TLS, PROT P): upload, download, resume, listing', async () => {
    const tlsArgs = ['--ssl-reqd', '--cacert', s.certFile];
    const body = pattern(250_000, 44);
    await fs.writeFile(local('tls.bin'), body);
    const up = await curl(...tlsArgs, '--verbose', '-T', local('tls.bin'), `${base}/tls.bin`);
    expect(up.stderr).toMatch(/> AUTH (TLS|SSL)/);
    expect(up.stderr).toContain('> PROT P');
    expect((await s.h.read('tls.bin')).equals(body)).toBe(true);
    await curl(...tlsArgs, '-o', local('tls-down.bin'), `${base}/tls.bin`);
    expect((await fs.readFile(local('tls-down.bin'))).equals(body)).toBe(true);
    await fs.writeFile(local('tls-part.bin'), body.subarray(0, 1000));
    await curl(...tlsArgs, '-C', '-', '-o', local('tls-part.bin'), `${base}/tls.bin`);
    expect((await fs.readFile(local('tls-part.bin'))).equals(body)).toBe(true);
    expect((await curl(...tlsArgs, '--list-only', `${base}/`)).stdout).toContain('tls.bin');
  });

  it('implicit (ftps://): upload and download', async () => {
    const implicit = `ftps://tester:secret@127.0.0.1:${s.implicitPort}`;
    const body = pattern(180_000, 45);
    await fs.writeFile(local('implicit.bin'), body);
    await curl('--cacert', s.certFile, '-T', local('implicit.bin'), `${implicit}/implicit.bin`);
    expect((await s.h.read('implicit.bin')).equals(body)).toBe(true);
    await curl('--cacert', s.certFile, '-o', local('implicit-down.bin'), `${implicit}/implicit.bin`);
    expect((await fs.readFile(local('implicit-down.bin'))).equals(body)).toBe(true);
  });

  it('where TLS is required (no --ftp-allow-plain): curl --ssl-reqd works, a cleartext login is refused', async () => {
    const strict = `ftp://tester:secret@127.0.0.1:${s.strictPort}`;
    const body = pattern(50_000, 46);
    await fs.writeFile(local('strict.bin'), body);
    await curl('--ssl-reqd', '--cacert', s.certFile, '-T', local('strict.bin'), `${strict}/strict.bin`);
    expect((await s.h.read('strict.bin')).equals(body)).toBe(true);
    const plain = await runClient('curl', ['--silent', '--verbose', '--max-time', '15', '-o', local('never.bin'), `${strict}/strict.bin`]);
    // 67: the login was denied; the server answered USER in cleartext with 530 (RFC 4217 §11).
    expect(plain.code).toBe(67);
    expect(plain.stderr).toMatch(/< 530 /);
    expect(plain.stderr).not.toContain('PASS secret');
  });

  it('refuses a client that does not trust the certificate (nothing is sent in the clear), unless told to (-k)', async () => {
    const refused = await runClient('curl', ['--silent', '--max-time', '15', '--ssl-reqd', `${base}/tls.bin`]);
    // 60: peer certificate cannot be authenticated with known CA certificates.
    expect(refused.code).toBe(60);
    // -k (what users type for a self-signed certificate) skips the check, and TLS is still used.
    const skipped = await curl('-k', '--ssl-reqd', '--verbose', '-o', local('tls-k.bin'), `${base}/tls.bin`);
    expect(skipped.stderr).toContain('> PROT P');
    expect((await fs.readFile(local('tls-k.bin'))).equals(await s.h.read('tls.bin'))).toBe(true);
  });
});
