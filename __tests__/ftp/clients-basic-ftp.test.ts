/**
 * basic-ftp (npm), a client no one here wrote, over every command it offers,
 * against the FTP port on a real socket: plain, explicit FTPS and implicit
 * FTPS with a generated certificate the client verifies.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { Client, FileType, FTPError, type FileInfo } from 'basic-ftp';
import { pattern, sparseWithTail, startClientServers, type ClientServers } from './helpers/real-clients';

let s: ClientServers;

beforeAll(async () => {
  // The version that actually loaded, not the one package.json asks for.
  const { version } = JSON.parse(await fs.readFile(require.resolve('basic-ftp/package.json'), 'utf8')) as { version: string };
  process.stdout.write(`FTP client under test: basic-ftp ${version} (npm)\n`);
  s = await startClientServers();
});
afterAll(async () => s.stop());

/** A client logged in (any name works without a users file). */
async function open(secure: boolean | 'implicit' = false): Promise<Client> {
  const client = new Client(10_000);
  await client.access({
    host: '127.0.0.1',
    port: secure === 'implicit' ? s.implicitPort : s.h.port,
    user: 'tester',
    password: 'secret',
    secure,
    // Trust exactly the generated certificate: the handshake is really checked.
    secureOptions: { ca: s.cert.cert },
  });
  return client;
}

/** Everything a download writes. */
async function download(client: Client, remote: string, startAt = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await client.downloadTo(sink, remote, startAt);
  return Buffer.concat(chunks);
}

/** The FTP reply code a failing call carries. */
async function failureCode(call: Promise<unknown>): Promise<number> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof FTPError)) throw new Error(`expected an FTP error reply, got ${String(err)}`);
  return err.code;
}

describe('plain FTP', () => {
  let client: Client;
  beforeAll(async () => {
    client = await open();
  });
  afterAll(() => client.close());

  it('reads the features and the working folder', async () => {
    const features = await client.features();
    for (const feature of ['EPSV', 'MLST', 'SIZE', 'MDTM', 'REST', 'UTF8']) expect(features.has(feature)).toBe(true);
    expect(await client.pwd()).toBe('/');
  });

  it('uploads and downloads byte-exact, from a stream and from a file', async () => {
    const body = pattern(300_000, 7);
    await client.uploadFrom(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), 'stream.bin');
    expect((await s.h.read('stream.bin')).equals(body)).toBe(true);
    expect((await download(client, 'stream.bin')).equals(body)).toBe(true);

    const localFile = path.join(s.local, 'from-disk.bin');
    await fs.writeFile(localFile, pattern(70_001, 8));
    await client.uploadFrom(localFile, 'from-disk.bin');
    const back = path.join(s.local, 'back.bin');
    await client.downloadTo(back, 'from-disk.bin');
    expect((await fs.readFile(back)).equals(pattern(70_001, 8))).toBe(true);
    // Only part of a local file (localStart / localEndInclusive).
    await client.uploadFrom(localFile, 'part.bin', { localStart: 100, localEndInclusive: 199 });
    expect((await s.h.read('part.bin')).equals(pattern(70_001, 8).subarray(100, 200))).toBe(true);
  });

  it('resumes a download (REST + RETR) and an upload (APPE)', async () => {
    const body = pattern(200_000, 9);
    await s.h.put('resume.bin', body);
    expect((await download(client, 'resume.bin', 123_457)).equals(body.subarray(123_457))).toBe(true);
    // An offset at the end: nothing left to send, and still a clean transfer.
    expect((await download(client, 'resume.bin', body.length)).length).toBe(0);

    await s.h.put('append.bin', body.subarray(0, 80_000));
    await client.appendFrom(Readable.from([body.subarray(80_000)]), 'append.bin');
    expect((await s.h.read('append.bin')).equals(body)).toBe(true);
    // APPE on a file that does not exist creates it.
    await client.appendFrom(Readable.from([Buffer.from('new')]), 'fresh-append.txt');
    expect((await s.h.read('fresh-append.txt')).toString()).toBe('new');
  });

  it('lists with MLSD and with LIST, both parsed by the client', async () => {
    await s.h.put('listing/a file with  spaces.txt', 'x'.repeat(1234));
    await s.h.put('listing/sub/inner.txt', 'y');
    await s.h.put('listing/ünïcødé.txt', 'z');
    const mtime = new Date('2024-03-01T12:34:56Z');
    await fs.utimes(path.join(s.h.root, 'listing/a file with  spaces.txt'), mtime, mtime);
    const check = (entries: FileInfo[], exactTime: boolean): void => {
      const byName = new Map(entries.map((entry) => [entry.name, entry]));
      expect([...byName.keys()].sort()).toEqual(['a file with  spaces.txt', 'sub', 'ünïcødé.txt']);
      const spaced = byName.get('a file with  spaces.txt')!;
      expect(spaced.type).toBe(FileType.File);
      expect(spaced.size).toBe(1234);
      expect(byName.get('sub')!.type).toBe(FileType.Directory);
      if (exactTime) expect(spaced.modifiedAt?.toISOString()).toBe(mtime.toISOString());
      else expect(spaced.rawModifiedAt).toMatch(/Mar +1 +2024/);
    };
    expect(client.availableListCommands[0]).toBe('MLSD');
    check(await client.list('listing'), true);
    // Make the client fall back to LIST (-a first, as it does with servers without MLSD).
    const saved = client.availableListCommands;
    client.availableListCommands = ['LIST -a', 'LIST'];
    try {
      check(await client.list('listing'), false);
    } finally {
      client.availableListCommands = saved;
    }
  });

  it('renames, makes and removes folders, deletes, and reads size and modification time', async () => {
    await s.h.put('old-name.txt', 'rename me');
    await client.rename('old-name.txt', 'new name.txt');
    expect((await s.h.read('new name.txt')).toString()).toBe('rename me');
    await expect(fs.access(path.join(s.h.root, 'old-name.txt'))).rejects.toThrow();

    // ensureDir makes each level (MKD) and enters it (CWD).
    await client.ensureDir('made/deep/er');
    expect(await client.pwd()).toBe('/made/deep/er');
    await client.uploadFrom(Readable.from([Buffer.from('inside')]), 'f.txt');
    await client.cd('/');
    expect((await s.h.read('made/deep/er/f.txt')).toString()).toBe('inside');
    await client.cd('made/deep');
    await client.cdup();
    expect(await client.pwd()).toBe('/made');
    await client.cd('/');
    // removeDir empties the folder (listing, DELE, RMD) and removes it.
    await client.removeDir('made');
    await expect(fs.access(path.join(s.h.root, 'made'))).rejects.toThrow();

    await fs.mkdir(path.join(s.h.root, 'empty'));
    await client.removeEmptyDir('empty');
    await expect(fs.access(path.join(s.h.root, 'empty'))).rejects.toThrow();

    await s.h.put('doomed.txt', 'bye');
    await client.remove('doomed.txt');
    await expect(fs.access(path.join(s.h.root, 'doomed.txt'))).rejects.toThrow();

    await s.h.put('sized.bin', pattern(4321));
    expect(await client.size('sized.bin')).toBe(4321);
    const when = new Date('2023-07-04T05:06:07Z');
    await fs.utimes(path.join(s.h.root, 'sized.bin'), when, when);
    expect((await client.lastMod('sized.bin')).toISOString()).toBe(when.toISOString());
  });

  it('mirrors a folder up and down (uploadFromDir, downloadToDir)', async () => {
    const up = path.join(s.local, 'tree-up');
    await fs.mkdir(path.join(up, 'a/b'), { recursive: true });
    await fs.writeFile(path.join(up, 'top.bin'), pattern(5000, 3));
    await fs.writeFile(path.join(up, 'a/b/leaf.bin'), pattern(65_536, 4));
    await client.uploadFromDir(up, 'tree');
    await client.cd('/');
    expect((await s.h.read('tree/a/b/leaf.bin')).equals(pattern(65_536, 4))).toBe(true);
    const down = path.join(s.local, 'tree-down');
    await client.downloadToDir(down, 'tree');
    await client.cd('/');
    expect((await fs.readFile(path.join(down, 'top.bin'))).equals(pattern(5000, 3))).toBe(true);
    expect((await fs.readFile(path.join(down, 'a/b/leaf.bin'))).equals(pattern(65_536, 4))).toBe(true);
  });

  it('gets clear refusals and keeps the session usable', async () => {
    expect(await failureCode(client.size('missing.bin'))).toBe(550);
    expect(await failureCode(download(client, 'missing.bin'))).toBe(550);
    expect(await failureCode(client.remove('missing.bin'))).toBe(550);
    expect(await failureCode(client.cd('no-such-folder'))).toBe(550);
    // Climbing above the root stays at the root, as in a chroot.
    await client.cd('../../..');
    expect(await client.pwd()).toBe('/');
    expect(await failureCode(client.rename('missing.bin', 'x.bin'))).toBe(550);
    await fs.mkdir(path.join(s.h.root, 'full/inner'), { recursive: true });
    expect(await failureCode(client.removeEmptyDir('full'))).toBe(550);
    // Nothing outside the root was reached, and the session still works.
    expect(await fs.readdir(s.h.outside)).toEqual([]);
    expect(await client.pwd()).toBe('/');
  });

  it('resumes past 4 GiB (64-bit SIZE and REST) on a sparse file', async () => {
    const size = 5 * 1024 ** 3 + 17;
    const tail = pattern(3000, 11);
    await sparseWithTail(path.join(s.h.root, 'huge.bin'), size, tail);
    expect(await client.size('huge.bin')).toBe(size);
    expect((await download(client, 'huge.bin', size - tail.length)).equals(tail)).toBe(true);
  });
});

describe.each([
  ['explicit FTPS (AUTH TLS)', true],
  ['implicit FTPS', 'implicit'],
] as const)('%s', (_name, secure) => {
  let client: Client;
  beforeAll(async () => {
    client = await open(secure);
  });
  afterAll(() => client.close());

  it('protects control and data, and moves bytes exactly both ways', async () => {
    expect(client.ftp.hasTLS).toBe(true);
    const name = `tls-${secure === true ? 'explicit' : 'implicit'}.bin`;
    const body = pattern(150_000, secure === true ? 21 : 22);
    await client.uploadFrom(Readable.from([body]), name);
    expect((await s.h.read(name)).equals(body)).toBe(true);
    expect((await download(client, name)).equals(body)).toBe(true);
    expect((await download(client, name, 99_999)).equals(body.subarray(99_999))).toBe(true);
    const listed = await client.list();
    expect(listed.find((entry) => entry.name === name)?.size).toBe(body.length);
    // The data connection was TLS too: PROT P was accepted (basic-ftp sends it after login).
    expect((await client.send('PROT P')).code).toBe(200);
  });

  it('streams an upload the client writes slowly, in pieces', async () => {
    const name = `tls-pieces-${secure === true ? 'e' : 'i'}.bin`;
    const source = new PassThrough();
    const uploading = client.uploadFrom(source, name);
    const body = pattern(64 * 1024 + 5, 31);
    for (let at = 0; at < body.length; at += 8192) source.write(body.subarray(at, at + 8192));
    source.end();
    await uploading;
    expect((await s.h.read(name)).equals(body)).toBe(true);
  });
});
