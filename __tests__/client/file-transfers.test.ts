import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpClient } from '../../src/client/ftp-client';
import { FtpError } from '../../src/client/errors';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { Collector, exists, fakeServer, getReply, patternBytes, recordPartVersion, remoteVersion, sha256, startServer, type TestServer } from './helpers';

/** download/upload with local files: .part handling, resume, integrity, interruptions. */

let srv: TestServer;
let client: FtpClient;
const data = patternBytes(1024 * 1024 + 333, 42);

beforeEach(async () => {
  srv = await startServer();
  await fs.writeFile(path.join(srv.root, 'data.bin'), data);
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

test('download writes through .part and renames at the end', async () => {
  const target = path.join(srv.local, 'data.bin');
  const result = await client.download('data.bin', target);
  expect(result).toMatchObject({ size: data.length, offset: 0, bytes: data.length, sha256: sha256(data), fileSha256: sha256(data), path: target });
  expect((await fs.readFile(target)).equals(data)).toBe(true);
  expect(await exists(`${target}.part`)).toBe(false);
});

test('a failed download leaves neither the final name nor an empty .part', async () => {
  const target = path.join(srv.local, 'nope.bin');
  expect((await failure(client.download('nope.bin', target))).kind).toBe('not_found');
  expect(await fs.readdir(srv.local)).toEqual([]);
});

test('resume continues a .part from its size and checks the whole file', async () => {
  const target = path.join(srv.local, 'data.bin');
  await fs.writeFile(`${target}.part`, data.subarray(0, 500_000));
  await recordPartVersion(srv.port, 'data.bin', `${target}.part`);
  const result = await client.download('data.bin', target, { resume: true });
  expect(result.offset).toBe(500_000);
  expect(result.bytes).toBe(data.length - 500_000);
  // The trailer covers only the tail; the result also reports the whole file.
  expect(result.sha256).toBe(sha256(data.subarray(500_000)));
  expect(result.fileSha256).toBe(sha256(data));
  expect((await fs.readFile(target)).equals(data)).toBe(true);
  expect(await exists(`${target}.part`)).toBe(false);
});

test('resume without a .part starts from zero; a complete .part just finishes', async () => {
  const target = path.join(srv.local, 'data.bin');
  expect((await client.download('data.bin', target, { resume: true })).offset).toBe(0);
  await fs.rename(target, `${target}.part`);
  await recordPartVersion(srv.port, 'data.bin', `${target}.part`);
  const again = await client.download('data.bin', target, { resume: true });
  expect(again).toMatchObject({ offset: data.length, bytes: 0, fileSha256: sha256(data) });
  expect((await fs.readFile(target)).equals(data)).toBe(true);
});

test('a .part longer than the remote file is a range error and is kept', async () => {
  const target = path.join(srv.local, 'data.bin');
  await fs.writeFile(`${target}.part`, Buffer.concat([data, Buffer.from('extra')]));
  await recordPartVersion(srv.port, 'data.bin', `${target}.part`);
  const err = await failure(client.download('data.bin', target, { resume: true }));
  expect(err).toMatchObject({ kind: 'range', code: 416 });
  expect(err.message).toMatch(/without resuming/);
  expect(await exists(target)).toBe(false);
  expect(await exists(`${target}.part`)).toBe(true);
});

test('upload sends the file with its checksum', async () => {
  const local = path.join(srv.local, 'up.bin');
  await fs.writeFile(local, data);
  const seen: number[] = [];
  const result = await client.upload(local, 'copy.bin', { onProgress: (done) => seen.push(done) });
  expect(result).toEqual({ bytes: data.length, sha256: sha256(data), path: local });
  expect((await fs.readFile(path.join(srv.root, 'copy.bin'))).equals(data)).toBe(true);
  expect(seen[seen.length - 1]).toBe(data.length);
});

test('uploading a missing or non-regular local file is a local error', async () => {
  expect((await failure(client.upload(path.join(srv.local, 'none'), 'x'))).kind).toBe('local');
  expect((await failure(client.upload(srv.local, 'x'))).kind).toBe('local');
  expect((await client.list()).map((e) => e.name)).toEqual(['data.bin']);
});

describe('against a misbehaving server', () => {
  test('a wrong trailer checksum is an integrity error and leaves no file at all', async () => {
    const content = Buffer.from('the real bytes');
    const fake = await fakeServer({
      // Header, payload and trailer in one write: the payload shares chunks with both frames.
      onCommand: (cmd, socket) => socket.write(getReply(String(cmd.filename), content, Number(cmd.offset ?? 0), sha256('other'))),
    });
    const bad = await FtpClient.connect({ host: '127.0.0.1', port: fake.port });
    try {
      const target = path.join(srv.local, 'f.txt');
      const err = await failure(bad.download('f.txt', target));
      expect(err.kind).toBe('integrity');
      expect(err.message).toMatch(/checksum mismatch/);
      expect(await fs.readdir(srv.local)).toEqual([]);
      // The trailer was read, so the connection is still in step.
      expect(bad.closed).toBe(false);
    } finally {
      bad.close();
      await fake.close();
    }
  });

  test('a correct reply in a single chunk is accepted (payload taken from the decoder)', async () => {
    const content = Buffer.from('one chunk for everything');
    const fake = await fakeServer({
      onCommand: (cmd, socket) => socket.write(getReply(String(cmd.filename), content, Number(cmd.offset ?? 0))),
    });
    const ok = await FtpClient.connect({ host: '127.0.0.1', port: fake.port });
    try {
      const sink = new Collector();
      expect((await ok.get('x', sink)).bytes).toBe(content.length);
      expect(sink.text).toBe('one chunk for everything');
      expect((await ok.get('x', new Collector(), { offset: 4 })).sha256).toBe(sha256(content.subarray(4)));
    } finally {
      ok.close();
      await fake.close();
    }
  });

  test('a connection cut mid-payload keeps the .part; get -c then completes it from the real server', async () => {
    const half = 600_000;
    // The fake cuts the real server's current version of the file short.
    const version = await remoteVersion(srv.port, 'data.bin');
    const fake = await fakeServer({
      onCommand: (cmd, socket) => {
        socket.write(encodeFrame({ type: 'response', code: 200, message: 'Sending file', filename: cmd.filename, size: data.length, offset: 0, version }));
        socket.end(data.subarray(0, half));
      },
    });
    const flaky = await FtpClient.connect({ host: '127.0.0.1', port: fake.port });
    const target = path.join(srv.local, 'data.bin');
    try {
      const err = await failure(flaky.download('data.bin', target));
      expect(err.kind).toBe('network');
      expect(err.message).toContain(`transfer interrupted after ${half} of ${data.length} bytes`);
      expect(flaky.closed).toBe(true);
    } finally {
      await fake.close();
    }
    expect(await exists(target)).toBe(false);
    expect((await fs.stat(`${target}.part`)).size).toBe(half);

    const resumed = await client.download('data.bin', target, { resume: true });
    expect(resumed.offset).toBe(half);
    expect(resumed.fileSha256).toBe(sha256(data));
    expect((await fs.readFile(target)).equals(data)).toBe(true);
  });

  test('a server that never greets times out with a typed error', async () => {
    const silent = await fakeServer({ greeting: null });
    try {
      const err = await failure(FtpClient.connect({ host: '127.0.0.1', port: silent.port, timeoutMs: 150 }));
      expect(err.kind).toBe('timeout');
      expect(err.message).toMatch(/timed out/);
    } finally {
      await silent.close();
    }
  });

  test('a greeting with code 429 is a refusal carrying the code', async () => {
    const limited = await fakeServer({ greeting: { type: 'connection', code: 429, message: 'Too many connections from your address' } });
    try {
      const err = await failure(FtpClient.connect({ host: '127.0.0.1', port: limited.port }));
      expect(err).toMatchObject({ kind: 'refused', code: 429 });
      expect(err.message).toContain('Too many connections from your address');
    } finally {
      await limited.close();
    }
  });

  test('a malformed reply is a protocol error that closes the connection', async () => {
    const odd = await fakeServer({
      onCommand: (_cmd, socket) => socket.write(encodeFrame({ type: 'response', code: 200, message: 'ok', files: 'nope' })),
    });
    const c = await FtpClient.connect({ host: '127.0.0.1', port: odd.port });
    try {
      expect((await failure(c.list())).kind).toBe('protocol');
      expect(c.closed).toBe(true);
    } finally {
      c.close();
      await odd.close();
    }
  });
});

describe('framing on the client side', () => {
  test('a listing of many MiB arrives whole, and frames split at odd places are reassembled', async () => {
    const files = Array.from({ length: 120_000 }, (_, i) => ({ name: `file-${i}.dat`, type: 'file', size: i, mtime: '2024-11-17T14:30:22.145Z' }));
    const big = encodeFrame({ type: 'response', code: 200, message: `${files.length} entries`, files });
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    const content = Buffer.from('split payload');
    const fake = await fakeServer({
      onCommand: (cmd, socket) => {
        if (cmd.command === 'LS') {
          for (let i = 0; i < big.length; i += 65_536) socket.write(big.subarray(i, i + 65_536));
          return;
        }
        // Cut inside the length prefix, inside the JSON, inside the payload and the trailer.
        const reply = getReply(String(cmd.filename), content, 0);
        const cuts = [0, 2, 9, reply.length - content.length - 60, reply.length - 30, reply.length];
        const send = (k: number): void => {
          if (k + 1 >= cuts.length) return;
          socket.write(reply.subarray(cuts[k], cuts[k + 1]));
          setTimeout(() => send(k + 1), 5);
        };
        send(0);
      },
    });
    const c = await FtpClient.connect({ host: '127.0.0.1', port: fake.port });
    try {
      const listing = await c.list();
      expect(listing).toHaveLength(files.length);
      expect(listing[files.length - 1]).toEqual(files[files.length - 1]);
      const sink = new Collector();
      expect((await c.get('x', sink)).sha256).toBe(sha256(content));
      expect(sink.text).toBe('split payload');
    } finally {
      c.close();
      await fake.close();
    }
  });
});
