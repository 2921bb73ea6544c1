import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let t: TestServer;
let conn: RawConnection;

beforeEach(async () => {
  t = await startTestServer();
  ({ conn } = await RawConnection.open(t.port));
});

afterEach(async () => {
  conn.close();
  await t.stop();
});

async function get(filename: string, offset?: number) {
  const header = await conn.request('GET', offset === undefined ? { filename } : { filename, offset });
  if (header.code !== 200) return { header };
  const payload = await conn.bytes((header.size as number) - (header.offset as number));
  const trailer = await conn.frame();
  return { header, payload, trailer };
}

async function put(filename: string, data: Buffer, extra: object = {}) {
  const ready = await conn.request('PUT', { filename, size: data.length, ...extra });
  if (ready.code !== 150) return ready;
  conn.write(data);
  return conn.frame();
}

describe('greeting', () => {
  it('advertises the protocol, the server and every command', async () => {
    const { conn: other, greeting } = await RawConnection.open(t.port);
    other.close();
    expect(greeting).toEqual({
      type: 'connection',
      code: 200,
      message: 'Connection established',
      protocol: 1,
      server: 'ftp-server/1.0.0',
      features: ['LS', 'GET', 'PUT', 'QUIT', 'DELETE', 'MKDIR', 'RMDIR', 'RENAME', 'STAT'],
      auth_required: false,
    });
  });
});

describe('LS', () => {
  it('lists the root sorted by code point with sizes, types and UTC times', async () => {
    await t.put('b.txt', 'hello');
    await t.put('.hidden', '');
    await t.put('A/inner.txt', 'x');
    await t.put('\u{1F600}', 'e');
    await t.put('\uFF01', 'f');
    const reply = await conn.request('LS');
    expect(reply).toMatchObject({ type: 'response', code: 200, message: '5 entries' });
    const files = reply.files as Array<Record<string, unknown>>;
    expect(files.map((f) => f.name)).toEqual(['.hidden', 'A', 'b.txt', '\uFF01', '\u{1F600}']);
    expect(files[1]).toMatchObject({ type: 'dir', size: 0 });
    expect(files[2]).toMatchObject({ type: 'file', size: 5 });
    for (const f of files) expect(f.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('lists a sub-folder, and `/` and absent mean the root', async () => {
    await t.put('photos/2024/a.jpg', 'jpg');
    expect(await conn.request('LS', { path: 'photos' })).toMatchObject({ code: 200, files: [{ name: '2024', type: 'dir' }] });
    expect(await conn.request('LS', { path: '/photos//2024/' })).toMatchObject({ files: [{ name: 'a.jpg', size: 3 }] });
    expect((await conn.request('LS', { path: '/' })).files).toEqual((await conn.request('LS')).files);
  });

  it('answers 404 for a missing folder and 409 for a file', async () => {
    await t.put('f.txt', 'x');
    expect(await conn.request('LS', { path: 'nope' })).toMatchObject({ code: 404 });
    expect(await conn.request('LS', { path: 'f.txt' })).toMatchObject({ code: 409 });
  });
});

describe('GET', () => {
  it('sends header, exactly the payload, and a trailer with its SHA-256', async () => {
    const content = Buffer.from('The quick brown fox');
    await t.put('a.txt', content);
    const { header, payload, trailer } = await get('a.txt');
    expect(header).toEqual({ type: 'response', code: 200, message: 'Sending file', filename: 'a.txt', size: content.length, offset: 0, version: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(payload).toEqual(content);
    expect(trailer).toEqual({ type: 'transfer', code: 226, message: 'Transfer complete', bytes: content.length, sha256: sha256(content) });
  });

  it('resumes from an offset, hashing only the bytes sent', async () => {
    await t.put('a.txt', '0123456789');
    const { header, payload, trailer } = await get('a.txt', 4);
    expect(header).toMatchObject({ size: 10, offset: 4 });
    expect(payload?.toString()).toBe('456789');
    expect(trailer).toMatchObject({ bytes: 6, sha256: sha256('456789') });
    const atEnd = await get('a.txt', 10);
    expect(atEnd.payload?.length).toBe(0);
    expect(atEnd.trailer).toMatchObject({ bytes: 0, sha256: sha256('') });
  });

  it('streams a file larger than one chunk byte-exactly', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    await t.put('big.bin', big);
    const { payload, trailer } = await get('big.bin', 5);
    expect(payload?.equals(big.subarray(5))).toBe(true);
    expect(trailer).toMatchObject({ bytes: big.length - 5, sha256: sha256(big.subarray(5)) });
  });

  it('answers 404 missing, 409 folder, 416 offset beyond size, 400 bad fields', async () => {
    await t.put('a.txt', 'abc');
    await fs.mkdir(path.join(t.root, 'dir'));
    expect(await conn.request('GET', { filename: 'missing.txt' })).toMatchObject({ code: 404 });
    expect(await conn.request('GET', { filename: 'dir' })).toMatchObject({ code: 409 });
    expect(await conn.request('GET', { filename: 'a.txt', offset: 4 })).toMatchObject({ code: 416 });
    expect(await conn.request('GET', { filename: 'a.txt', offset: -1 })).toMatchObject({ code: 400 });
    expect(await conn.request('GET', { filename: 'a.txt', offset: 1.5 })).toMatchObject({ code: 400 });
    expect(await conn.request('GET', {})).toMatchObject({ code: 400 });
    expect(await conn.request('GET', { filename: 42 })).toMatchObject({ code: 400 });
    // The session is still in step after all of these.
    expect((await get('a.txt')).payload?.toString()).toBe('abc');
  });
});

describe('PUT', () => {
  it('stores the bytes and answers 226 with the digest', async () => {
    const data = Buffer.from('uploaded bytes');
    expect(await put('up.txt', data)).toEqual({
      type: 'response', code: 226, message: 'File received', filename: 'up.txt', bytes_received: data.length, sha256: sha256(data),
    });
    expect(await fs.readFile(path.join(t.root, 'up.txt'))).toEqual(data);
  });

  it('accepts a matching sha256 in either case and an empty file', async () => {
    const data = Buffer.from('checked');
    expect(await put('c.txt', data, { sha256: sha256(data).toUpperCase() })).toMatchObject({ code: 226 });
    expect(await put('empty.txt', Buffer.alloc(0))).toMatchObject({ code: 226, bytes_received: 0 });
    expect((await fs.stat(path.join(t.root, 'empty.txt'))).size).toBe(0);
  });

  it('answers 422 on a digest mismatch after the payload, keeps the old file, and goes on', async () => {
    await t.put('keep.txt', 'original');
    expect(await put('keep.txt', Buffer.from('corrupted'), { sha256: sha256('something else') })).toMatchObject({ code: 422 });
    expect(await fs.readFile(path.join(t.root, 'keep.txt'), 'utf8')).toBe('original');
    expect(await fs.readdir(t.root)).toEqual(['keep.txt']);
    expect(await conn.request('STAT', { filename: 'keep.txt' })).toMatchObject({ code: 200 });
  });

  it('refuses bad fields with 400 before 150', async () => {
    for (const fields of [
      { filename: 'x', size: -1 },
      { filename: 'x', size: 1.5 },
      { filename: 'x', size: '3' },
      { filename: 'x' },
      { size: 3 },
      { filename: 'x', size: 3, sha256: 'abc' },
      { filename: 'x', size: 3, sha256: 'g'.repeat(64) },
    ]) {
      expect(await conn.request('PUT', fields)).toMatchObject({ code: 400 });
    }
    expect(await fs.readdir(t.root)).toEqual([]);
  });

  it('answers 409 for a folder target or a file parent, 404 for a missing parent', async () => {
    await fs.mkdir(path.join(t.root, 'dir'));
    await t.put('file.txt', 'x');
    expect(await conn.request('PUT', { filename: 'dir', size: 1 })).toMatchObject({ code: 409 });
    expect(await conn.request('PUT', { filename: 'file.txt/child', size: 1 })).toMatchObject({ code: 409 });
    expect(await conn.request('PUT', { filename: 'no/such/dir.txt', size: 1 })).toMatchObject({ code: 404 });
  });

  it('handles a payload arriving in the same write as its command, then a pipelined command', async () => {
    const data = Buffer.from('pipelined');
    conn.write(Buffer.concat([
      encodeFrame({ type: 'command', command: 'PUT', filename: 'p.txt', size: data.length }),
      data,
      encodeFrame({ type: 'command', command: 'LS' }),
    ]));
    expect(await conn.frame()).toMatchObject({ code: 150 });
    expect(await conn.frame()).toMatchObject({ code: 226, bytes_received: data.length });
    expect(await conn.frame()).toMatchObject({ code: 200, files: [{ name: 'p.txt', size: data.length }] });
  });
});

describe('upload size limit', () => {
  it('answers 413 for an upload over --max-upload-size', async () => {
    const small = await startTestServer({ limits: { maxUploadSize: 10 } });
    try {
      const { conn: c } = await RawConnection.open(small.port);
      expect(await c.request('PUT', { filename: 'a', size: 11 })).toMatchObject({ code: 413 });
      expect(await c.request('PUT', { filename: 'a', size: 10 })).toMatchObject({ code: 150 });
      c.close();
    } finally {
      await small.stop();
    }
  });
});

describe('free space', () => {
  it('answers 507 when the disk has less room than announced', async () => {
    const roomy = await startTestServer({ limits: { maxUploadSize: Number.MAX_SAFE_INTEGER } });
    try {
      const { conn: c } = await RawConnection.open(roomy.port);
      expect(await c.request('PUT', { filename: 'huge.bin', size: Number.MAX_SAFE_INTEGER })).toMatchObject({ code: 507 });
      expect(await fs.readdir(roomy.root)).toEqual([]);
      c.close();
    } finally {
      await roomy.stop();
    }
  });
});

describe('extended commands', () => {
  it('DELETE removes a file; 404 missing; 409 folder', async () => {
    await t.put('d.txt', 'x');
    await fs.mkdir(path.join(t.root, 'dir'));
    expect(await conn.request('DELETE', { filename: 'd.txt' })).toMatchObject({ code: 200 });
    await expect(fs.access(path.join(t.root, 'd.txt'))).rejects.toThrow();
    expect(await conn.request('DELETE', { filename: 'd.txt' })).toMatchObject({ code: 404 });
    expect(await conn.request('DELETE', { filename: 'dir' })).toMatchObject({ code: 409 });
  });

  it('MKDIR creates; 409 exists; 404 parent missing', async () => {
    expect(await conn.request('MKDIR', { path: 'new' })).toMatchObject({ code: 200 });
    expect((await fs.stat(path.join(t.root, 'new'))).isDirectory()).toBe(true);
    expect(await conn.request('MKDIR', { path: 'new' })).toMatchObject({ code: 409 });
    expect(await conn.request('MKDIR', { path: 'a/b' })).toMatchObject({ code: 404 });
  });

  it('RMDIR removes an empty folder; 409 not empty; 404 missing; 403 the root', async () => {
    await fs.mkdir(path.join(t.root, 'empty'));
    await t.put('full/x.txt', 'x');
    expect(await conn.request('RMDIR', { path: 'empty' })).toMatchObject({ code: 200 });
    expect(await conn.request('RMDIR', { path: 'full' })).toMatchObject({ code: 409 });
    expect(await conn.request('RMDIR', { path: 'empty' })).toMatchObject({ code: 404 });
    expect(await conn.request('RMDIR', { path: '/' })).toMatchObject({ code: 403 });
  });

  it('RENAME moves and replaces a file atomically; 404 missing source', async () => {
    await t.put('from.txt', 'new');
    await t.put('to.txt', 'old');
    expect(await conn.request('RENAME', { from: 'from.txt', to: 'to.txt' })).toMatchObject({ code: 200 });
    expect(await fs.readFile(path.join(t.root, 'to.txt'), 'utf8')).toBe('new');
    expect(await conn.request('RENAME', { from: 'from.txt', to: 'x.txt' })).toMatchObject({ code: 404 });
    expect(await conn.request('RENAME', { from: 'to.txt' })).toMatchObject({ code: 400 });
  });

  it('STAT describes a file and a folder; 404 missing', async () => {
    await t.put('dir/s.txt', 'four');
    expect(await conn.request('STAT', { filename: 'dir/s.txt' })).toMatchObject({
      code: 200,
      file: { name: 's.txt', type: 'file', size: 4 },
    });
    expect(await conn.request('STAT', { filename: 'dir' })).toMatchObject({ file: { name: 'dir', type: 'dir', size: 0 } });
    expect(await conn.request('STAT', { filename: 'nope' })).toMatchObject({ code: 404 });
  });
});

describe('paths', () => {
  it.each([
    ['the empty string', ''],
    ['a .. part', '../x'],
    ['a .. deeper', 'a/../../x'],
    ['a . part', './a'],
    ['a backslash', 'a\\b'],
    ['a NUL', 'a\u0000b'],
    ['a 256-byte part', 'x'.repeat(256)],
    ['a 128-byte part of 2-byte characters', 'é'.repeat(128)],
    ['a path over 4,096 bytes', `${'abcd/'.repeat(820)}x`],
  ])('refuses %s with 400 from every command', async (_what, bad) => {
    for (const [command, field] of [['GET', 'filename'], ['STAT', 'filename'], ['DELETE', 'filename'], ['LS', 'path'], ['MKDIR', 'path'], ['RMDIR', 'path']]) {
      expect(await conn.request(command, { [field]: bad })).toMatchObject({ code: 400 });
    }
    expect(await conn.request('PUT', { filename: bad, size: 1 })).toMatchObject({ code: 400 });
    expect(await conn.request('RENAME', { from: bad, to: 'x' })).toMatchObject({ code: 400 });
  });

  it('follows links inside the root and refuses links out with 403, revealing nothing', async () => {
    await t.put('real.txt', 'inside');
    await fs.writeFile(path.join(t.outside, 'secret.txt'), 'secret');
    await fs.symlink(path.join(t.root, 'real.txt'), path.join(t.root, 'link-in'));
    await fs.symlink(path.join(t.outside, 'secret.txt'), path.join(t.root, 'link-out'));
    await fs.symlink(path.join(t.outside, 'nothing-here'), path.join(t.root, 'link-nowhere'));
    await fs.symlink(t.outside, path.join(t.root, 'dir-out'));
    expect((await get('link-in')).payload?.toString()).toBe('inside');
    const out = await conn.request('GET', { filename: 'link-out' });
    const nowhere = await conn.request('GET', { filename: 'link-nowhere' });
    expect(out).toMatchObject({ code: 403 });
    expect(nowhere).toEqual(out);
    expect(await conn.request('LS', { path: 'dir-out' })).toMatchObject({ code: 403 });
    expect(await conn.request('GET', { filename: 'dir-out/secret.txt' })).toMatchObject({ code: 403 });
    expect(await conn.request('PUT', { filename: 'dir-out/new.txt', size: 1 })).toMatchObject({ code: 403 });
    expect(await conn.request('MKDIR', { path: 'dir-out/sub' })).toMatchObject({ code: 403 });
    const names = ((await conn.request('LS')).files as Array<{ name: string }>).map((f) => f.name);
    expect(names).toEqual(['link-in', 'real.txt']);
    expect(await fs.readdir(t.outside)).toEqual(['secret.txt']);
  });
});

describe('malformed commands', () => {
  it('answers 400 for unknown types and commands, and missing command names; the session goes on', async () => {
    conn.send({ type: 'hello' });
    expect(await conn.frame()).toMatchObject({ type: 'response', code: 400 });
    conn.send({ command: 'LS' });
    expect(await conn.frame()).toMatchObject({ code: 400 });
    expect(await conn.request('FROB')).toMatchObject({ code: 400 });
    conn.send({ type: 'command' });
    expect(await conn.frame()).toMatchObject({ code: 400 });
    expect(await conn.request('ls')).toMatchObject({ code: 200 });
    expect(await conn.request('Ls', { ignored_field: true })).toMatchObject({ code: 200 });
  });

  it('answers 400 for a non-JSON frame and keeps the connection', async () => {
    const body = Buffer.from('not json at all');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    conn.write(Buffer.concat([header, body]));
    expect(await conn.frame()).toMatchObject({ code: 400 });
    expect(await conn.request('LS')).toMatchObject({ code: 200 });
  });

  it.each([
    [65_537, 413],
    [0, 400],
    [1, 400],
  ])('answers a length prefix of %d with %d and closes', async (length, code) => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    conn.write(header);
    expect(await conn.frame()).toMatchObject({ type: 'response', code });
    await conn.waitClosed();
  });
});

describe('QUIT', () => {
  it('says goodbye and closes', async () => {
    expect(await conn.request('QUIT')).toEqual({ type: 'response', code: 200, message: 'Goodbye' });
    await conn.waitClosed();
    expect(t.log.lines.some((l) => /Client 127\.0\.0\.1:\d+ requested disconnect/.test(l.message))).toBe(true);
  });
});
