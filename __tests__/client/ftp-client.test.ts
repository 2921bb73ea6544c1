import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FtpClient } from '../../src/client/ftp-client';
import { FtpError } from '../../src/client/errors';
import { closedPort, Collector, patternBytes, sha256, startServer, type TestServer } from './helpers';

/** The library against a real server: every command, and errors as typed errors. */

let srv: TestServer;
let client: FtpClient;

beforeEach(async () => {
  srv = await startServer();
  await fs.writeFile(path.join(srv.root, 'hello.txt'), 'hello world\n');
  await fs.mkdir(path.join(srv.root, 'docs'));
  await fs.writeFile(path.join(srv.root, 'docs', 'a.md'), '# A\n');
  client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port });
});

afterEach(async () => {
  client.close();
  await srv.close();
});

async function failure(promise: Promise<unknown>): Promise<FtpError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FtpError);
  return err as FtpError;
}

test('connect reads the greeting', () => {
  expect(client.greeting.code).toBe(200);
  expect(client.greeting.protocol).toBe(1);
  expect(client.greeting.features).toEqual(expect.arrayContaining(['LS', 'GET', 'PUT', 'QUIT', 'STAT']));
  expect(client.greeting.auth_required).toBe(false);
});

test('list and stat', async () => {
  const root = await client.list();
  expect(root.map((e) => [e.name, e.type])).toEqual([['docs', 'dir'], ['hello.txt', 'file']]);
  expect(root[1].size).toBe(12);
  expect(await client.list('docs')).toEqual([expect.objectContaining({ name: 'a.md', type: 'file', size: 4 })]);
  const entry = await client.stat('docs/a.md');
  expect(entry).toEqual(expect.objectContaining({ name: 'a.md', type: 'file', size: 4 }));
  expect(entry.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('put then get round-trips bytes and checksums', async () => {
  const data = patternBytes(3 * 1024 * 1024 + 17);
  const put = await client.put('blob.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]), data.length, { sha256: sha256(data) });
  expect(put).toEqual({ bytes: data.length, sha256: sha256(data) });
  expect(sha256(await fs.readFile(path.join(srv.root, 'blob.bin')))).toBe(sha256(data));

  const sink = new Collector();
  const seen: number[] = [];
  const got = await client.get('blob.bin', sink, { onProgress: (done) => seen.push(done) });
  expect(got).toEqual({ size: data.length, offset: 0, bytes: data.length, sha256: sha256(data) });
  expect(sink.buffer.equals(data)).toBe(true);
  expect(seen[seen.length - 1]).toBe(data.length);
});

test('get with an offset receives the tail only', async () => {
  const sink = new Collector();
  const got = await client.get('hello.txt', sink, { offset: 6 });
  expect(sink.text).toBe('world\n');
  expect(got).toEqual({ size: 12, offset: 6, bytes: 6, sha256: sha256('world\n') });
});

test('empty files travel both ways', async () => {
  await client.put('empty', Readable.from([]), 0);
  const sink = new Collector();
  expect((await client.get('empty', sink)).bytes).toBe(0);
  expect(sink.buffer.length).toBe(0);
});

test('mkdir, rename, delete, rmdir', async () => {
  await client.mkdir('new');
  await client.rename('hello.txt', 'new/moved.txt');
  expect((await client.list('new')).map((e) => e.name)).toEqual(['moved.txt']);
  await client.delete('new/moved.txt');
  await client.rmdir('new');
  expect((await client.list()).map((e) => e.name)).toEqual(['docs']);
});

test('server refusals become typed errors with their code', async () => {
  const cases: Array<[Promise<unknown>, string, number]> = [
    [client.stat('missing'), 'not_found', 404],
    [client.list('hello.txt'), 'conflict', 409],
    [client.get('docs', new Collector()), 'conflict', 409],
    [client.get('hello.txt', new Collector(), { offset: 13 }), 'range', 416],
    [client.mkdir('docs'), 'conflict', 409],
    [client.rmdir('docs'), 'conflict', 409],
    [client.delete('a/../b'), 'bad_request', 400],
    [client.rmdir('/'), 'forbidden', 403],
  ];
  for (const [promise, kind, code] of cases) {
    const err = await failure(promise);
    expect({ kind: err.kind, code: err.code }).toEqual({ kind, code });
  }
  // The message names what was asked about; the server's text alone is generic.
  expect((await failure(client.stat('missing'))).message).toMatch(/^missing: .*\(404\)$/);
  // Errors do not break the connection.
  expect((await client.list()).length).toBe(2);
});

test('a wrong sha256 on upload is refused with 422 and the old file stays', async () => {
  const err = await failure(client.put('hello.txt', Readable.from([Buffer.from('evil')]), 4, { sha256: sha256('good') }));
  expect(err).toMatchObject({ kind: 'integrity', code: 422 });
  expect(await fs.readFile(path.join(srv.root, 'hello.txt'), 'utf8')).toBe('hello world\n');
  expect((await client.stat('hello.txt')).size).toBe(12);
});

test('a source shorter than announced fails locally and closes the connection', async () => {
  const err = await failure(client.put('short', Readable.from([Buffer.from('abc')]), 10));
  expect(err.kind).toBe('local');
  expect(client.closed).toBe(true);
  await expect(client.list()).rejects.toMatchObject({ kind: 'local' });
});

test('concurrent calls are queued, never interleaved on the wire', async () => {
  const data = patternBytes(2 * 1024 * 1024, 7);
  await fs.writeFile(path.join(srv.root, 'big.bin'), data);
  const sink = new Collector();
  const [got, listing, entry, missing, text] = await Promise.all([
    client.get('big.bin', sink),
    client.list(),
    client.stat('docs'),
    client.stat('nope').catch((e: FtpError) => e.code),
    client.put('up.txt', Readable.from([Buffer.from('xyz')]), 3),
  ]);
  expect(got.sha256).toBe(sha256(data));
  expect(sink.buffer.equals(data)).toBe(true);
  expect(listing.map((e) => e.name)).toEqual(['big.bin', 'docs', 'hello.txt']);
  expect(entry.type).toBe('dir');
  expect(missing).toBe(404);
  expect(text.bytes).toBe(3);
});

test('close() rejects the call in flight and every later one', async () => {
  await fs.writeFile(path.join(srv.root, 'big.bin'), patternBytes(8 * 1024 * 1024));
  const slow = new Collector({ highWaterMark: 1024 });
  const pending = client.get('big.bin', slow, { onProgress: (done) => { if (done > 0) client.close(); } });
  const queued = client.list();
  expect((await failure(pending)).kind).toBe('closed');
  expect((await failure(queued)).kind).toBe('closed');
});

test('quit says goodbye and closes; quitting twice is harmless', async () => {
  await client.quit();
  expect(client.closed).toBe(true);
  await client.quit();
  await expect(client.list()).rejects.toMatchObject({ kind: 'closed' });
});

test('a full server refuses with 503 as a typed error', async () => {
  const busy = await startServer({ maxConnections: 1 });
  try {
    const first = await FtpClient.connect({ host: '127.0.0.1', port: busy.port });
    const err = await failure(FtpClient.connect({ host: '127.0.0.1', port: busy.port }));
    expect(err).toMatchObject({ kind: 'refused', code: 503 });
    first.close();
  } finally {
    await busy.close();
  }
});

test('nothing listening is a network error, not a stack', async () => {
  const port = await closedPort();
  const err = await failure(FtpClient.connect({ host: '127.0.0.1', port }));
  expect(err.kind).toBe('network');
  expect(err.code).toBe(0);
  expect(err.message).toBe(`cannot connect to 127.0.0.1:${port}: connection refused (is the server running?)`);
});
