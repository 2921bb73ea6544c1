import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/client-cli';
import { FtpClient } from '../../src/client/ftp-client';
import { FtpError } from '../../src/client/errors';
import { PART_VERSION_SUFFIX } from '../../src/client/part-version';
import { MemoryLog } from '../../src/logging/log';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { FileServer } from '../../src/server/file-server';
import type { TransferStart } from '../../src/core/observer';
import { exists, fakeIo, fakeServer, patternBytes, recordPartVersion, remoteVersion, sha256 } from './helpers';

/**
 * Issue 10, finding 9: `get -c` kept the `.part` and asked for the rest, so a
 * file replaced in between came out as the old head and the new tail. Now the
 * version travels with the `.part`, and a changed file is fetched again whole.
 */

const SIZE = 1024 * 1024 + 77;
const OLD = patternBytes(SIZE, 11);
const NEW = patternBytes(SIZE, 12);

let base: string;
let root: string;
let localDir: string;
let server: FileServer;
let log: MemoryLog;
let starts: TransferStart[];

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-resume-'));
  root = path.join(base, 'root');
  localDir = path.join(base, 'local');
  await fs.mkdir(root);
  await fs.mkdir(localDir);
  await fs.writeFile(path.join(root, 'data.bin'), OLD);
  log = new MemoryLog();
  starts = [];
  server = await FileServer.start({
    root, host: '127.0.0.1', port: 0, log,
    observer: { transferStarted: (start) => starts.push(start) },
  });
});

afterEach(async () => {
  await server.close(1_000);
  await fs.rm(base, { recursive: true, force: true });
});

/**
 * A relay to the real server that ends the connection after `limit` bytes
 * from the server: a download cut mid-payload, of the server's real reply.
 */
async function cuttingProxy(limit: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: server.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    let forwarded = 0;
    upstream.on('data', (chunk: Buffer) => {
      const room = limit - forwarded;
      if (room <= 0) return;
      forwarded += Math.min(room, chunk.length);
      if (chunk.length < room) {
        client.write(chunk);
        return;
      }
      client.end(chunk.subarray(0, room));
      upstream.destroy();
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      proxy.close(() => resolve());
    }),
  };
}

async function ftp(port: number, ...args: string[]) {
  const { io, stdout, stderr } = fakeIo(null, localDir);
  const code = await main(['--port', String(port), '--dir', localDir, ...args], io);
  return { code, out: stdout.text, err: stderr.text };
}

const target = () => path.join(localDir, 'data.bin');
const part = () => `${target()}.part`;

/** `ftp-client get data.bin` through a relay that cuts it after ~400 KB; returns the .part's size. */
async function interruptedDownload(): Promise<number> {
  const proxy = await cuttingProxy(400_000);
  try {
    const r = await ftp(proxy.port, 'get', 'data.bin');
    expect(r.code).toBe(5);
    expect(r.err).toMatch(/transfer interrupted after .* \(partial file kept: get -c resumes it\)\n$/);
  } finally {
    await proxy.close();
  }
  expect(await exists(target())).toBe(false);
  expect(await fs.readFile(part() + PART_VERSION_SUFFIX, 'utf8')).toBe(await remoteVersion(server.port, 'data.bin'));
  const kept = (await fs.stat(part())).size;
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(SIZE);
  expect((await fs.readFile(part())).equals(OLD.subarray(0, kept))).toBe(true);
  return kept;
}

async function expectDoneWith(content: Buffer): Promise<void> {
  const got = await fs.readFile(target());
  expect(got.length).toBe(content.length);
  expect(sha256(got)).toBe(sha256(content));
  expect(await exists(part())).toBe(false);
  expect(await exists(part() + PART_VERSION_SUFFIX)).toBe(false);
}

test('unchanged file: get -c asks the server for the tail only', async () => {
  const kept = await interruptedDownload();
  starts.length = 0;
  const r = await ftp(server.port, 'get', '-c', 'data.bin');
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
  expect(r.out).toMatch(/, resumed at /);
  await expectDoneWith(OLD);
  // What the server was asked for and sent: from the .part's end, nothing more.
  expect(starts.map((s) => s.expectedBytes)).toEqual([SIZE - kept]);
  expect(log.lines.some((l) => l.message.startsWith(`GET: Sent file - data.bin (${SIZE - kept} bytes from offset ${kept} `))).toBe(true);
});

test('file replaced by an upload in between: get -c starts over and says so; never a splice', async () => {
  await interruptedDownload();
  const other = path.join(base, 'new.bin');
  await fs.writeFile(other, NEW);
  const uploader = await FtpClient.connect({ host: '127.0.0.1', port: server.port });
  await uploader.upload(other, 'data.bin');
  await uploader.quit();

  starts.length = 0;
  const r = await ftp(server.port, 'get', '-c', 'data.bin');
  expect(r.code).toBe(0);
  expect(r.err).toBe('get: /data.bin: remote file changed since the partial download; starting over\n');
  expect(r.out).not.toMatch(/resumed at/);
  await expectDoneWith(NEW);
  expect(starts.map((s) => s.expectedBytes)).toEqual([SIZE]);
  expect(log.lines.some((l) => l.level === 'WARNING' && l.message === 'GET: File changed since that version - data.bin')).toBe(true);
});

test('file rewritten in place with the same size: starts over too (--json says why)', async () => {
  const file = path.join(root, 'data.bin');
  // Old times, so the rewrite moves them whatever the clock's grain.
  await fs.utimes(file, new Date('2001-01-01'), new Date('2001-01-01'));
  await interruptedDownload();
  const handle = await fs.open(file, 'r+');
  try {
    await handle.write(NEW, 0, SIZE, 0);
  } finally {
    await handle.close();
  }
  const r = await ftp(server.port, '--json', 'get', '-c', 'data.bin');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out)).toMatchObject({ ok: true, offset: 0, bytes: SIZE, restarted: 'changed', sha256: sha256(NEW) });
  await expectDoneWith(NEW);
});

test('a .part without a recorded version (an older client) cannot be proven: start over, saying so', async () => {
  await fs.writeFile(part(), NEW.subarray(0, 300_000));
  const r = await ftp(server.port, 'get', '-c', 'data.bin');
  expect(r.code).toBe(0);
  expect(r.err).toBe('get: /data.bin: the partial download has no recorded version, so it cannot be proven to match the remote file; starting over\n');
  await expectDoneWith(OLD);
  expect(starts.map((s) => s.expectedBytes)).toEqual([SIZE]);
});

test('a fresh download (no -c) forgets an old .part and its version; the new version is recorded before the bytes', async () => {
  await fs.writeFile(part(), NEW.subarray(0, 1000));
  await fs.writeFile(part() + PART_VERSION_SUFFIX, 'stale-version');
  const client = await FtpClient.connect({ host: '127.0.0.1', port: server.port });
  try {
    let seenAtStart: string | null = null;
    const result = await client.download('data.bin', target(), {
      onProgress: (done) => {
        // Before the first payload byte, the version beside the .part is already this download's.
        if (done === 0) seenAtStart = readFileSync(part() + PART_VERSION_SUFFIX, 'utf8');
      },
    });
    expect(seenAtStart).toBe(await remoteVersion(server.port, 'data.bin'));
    expect(result.offset).toBe(0);
    await expectDoneWith(OLD);
  } finally {
    client.close();
  }
});

test('the library: resume against a changed file restarts and reports it; a server ignoring if_version gets no byte appended', async () => {
  await fs.writeFile(part(), OLD.subarray(0, 200_000));
  await recordPartVersion(server.port, 'data.bin', part());
  await fs.writeFile(path.join(root, 'data.bin.new'), NEW);
  await fs.rename(path.join(root, 'data.bin.new'), path.join(root, 'data.bin'));
  const client = await FtpClient.connect({ host: '127.0.0.1', port: server.port });
  const reasons: string[] = [];
  try {
    const result = await client.download('data.bin', target(), { resume: true, onRestart: (why) => reasons.push(why) });
    expect(reasons).toEqual(['changed']);
    expect(result).toMatchObject({ offset: 0, bytes: SIZE, restarted: 'changed', fileSha256: sha256(NEW) });
  } finally {
    client.close();
  }
  await expectDoneWith(NEW);

  // A server that sends another version despite if_version: the client takes none of it.
  await fs.rm(target());
  await fs.writeFile(part(), OLD.subarray(0, 200_000));
  await fs.writeFile(part() + PART_VERSION_SUFFIX, 'v-old');
  const careless = await fakeServer({
    onCommand: (cmd, socket) => {
      const offset = Number(cmd.offset);
      socket.write(encodeFrame({ type: 'response', code: 200, message: 'Sending file', filename: cmd.filename, size: SIZE, offset, version: 'v-new' }));
      socket.write(NEW.subarray(offset));
    },
  });
  const bad = await FtpClient.connect({ host: '127.0.0.1', port: careless.port });
  try {
    const err = await bad.download('data.bin', target(), { resume: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FtpError);
    expect(err).toMatchObject({ kind: 'protocol' });
    expect((err as FtpError).message).toContain('did not honour if_version');
    expect((await fs.readFile(part())).equals(OLD.subarray(0, 200_000))).toBe(true);
    expect(await exists(target())).toBe(false);
  } finally {
    bad.close();
    await careless.close();
  }
});
