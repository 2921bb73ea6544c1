import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { ServerLimits } from '../../src/config/defaults';
import { FileServer } from '../../src/server/file-server';
import { FtpClient } from '../../src/client/ftp-client';
import { writePartVersion } from '../../src/client/part-version';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { encodeFrame } from '../../src/protocol/frame-encoder';

/**
 * Characters a terminal must never receive raw (C0 but newline, DEL, C1, bidi
 * controls, zero-width and other invisible format characters, separators,
 * tags, lone surrogates), listed here on their own rather than taken from the
 * code under test.
 */
export const TERMINAL_UNSAFE =
  /[\u{0}-\u{9}\u{b}-\u{1f}\u{7f}-\u{9f}\u{ad}\u{61c}\u{180e}\u{200b}-\u{200f}\u{2028}-\u{202e}\u{2060}-\u{2064}\u{2066}-\u{2069}\u{feff}\u{e0001}\u{e0020}-\u{e007f}\u{d800}-\u{dfff}]/u;

/** A real server on 127.0.0.1, port 0, serving a fresh temp folder; plus a local temp folder. */
export interface TestServer {
  server: FileServer;
  port: number;
  /** The served root. */
  root: string;
  /** A local folder for the client's files. */
  local: string;
  close(): Promise<void>;
}

export async function startServer(limits: Partial<ServerLimits> = {}): Promise<TestServer> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-client-test-'));
  const root = path.join(base, 'root');
  const local = path.join(base, 'local');
  await fs.mkdir(root);
  await fs.mkdir(local);
  const server = await FileServer.start({ root, host: '127.0.0.1', port: 0, limits });
  return {
    server,
    port: server.port,
    root,
    local,
    async close() {
      await server.close(1_000);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (so failures are reproducible). */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A writable that keeps everything written to it. */
export class Collector extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.buffer.toString('utf8');
  }
}

/** Standard streams for an in-process `main()` run; stdin carries `script`. */
export function fakeIo(script: string | null, cwd: string) {
  const stdin = new PassThrough();
  if (script !== null) stdin.end(script);
  const stdout = new Collector();
  const stderr = new Collector();
  return { io: { stdin, stdout, stderr, env: { FTP_CLIENT_HISTORY: '' }, cwd }, stdout, stderr };
}

/**
 * A scripted stand-in server, for what a correct server never does (a wrong
 * checksum, a close mid-payload, silence). `onCommand` gets each command
 * frame and the socket; the greeting is sent unless `greeting` is null.
 */
export async function fakeServer(options: {
  greeting?: Record<string, unknown> | null;
  onCommand?: (command: Record<string, unknown>, socket: net.Socket) => void;
}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const greeting = options.greeting === undefined
      ? { type: 'connection', code: 200, message: 'Connection established', protocol: 1, server: 'fake/0', features: ['LS', 'GET'], auth_required: false }
      : options.greeting;
    if (greeting) socket.write(encodeFrame(greeting));
    const decoder = new FrameDecoder(65_536);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame; frame = decoder.next()) {
        if (frame.kind !== 'message') continue;
        if (String(frame.message.command).toUpperCase() === 'QUIT') {
          socket.end(encodeFrame({ type: 'response', code: 200, message: 'Goodbye' }));
        } else {
          options.onCommand?.(frame.message, socket);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** One GET reply (header, payload, trailer) as a single buffer: one TCP write. */
export function getReply(filename: string, content: Buffer, offset: number, trailerSha?: string): Buffer {
  const payload = content.subarray(offset);
  return Buffer.concat([
    encodeFrame({ type: 'response', code: 200, message: 'Sending file', filename, size: content.length, offset }),
    payload,
    encodeFrame({ type: 'transfer', code: 226, message: 'Transfer complete', bytes: payload.length, sha256: trailerSha ?? sha256(payload) }),
  ]);
}

/** A port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** The version a real server gives `remote` now (a GET of its last 0 bytes). */
export async function remoteVersion(port: number, remote: string): Promise<string> {
  const client = await FtpClient.connect({ host: '127.0.0.1', port });
  try {
    const { size } = await client.stat(remote);
    let version: string | undefined;
    await client.get(remote, new Collector(), { offset: size, onStart: (start) => { version = start.version; } });
    if (version === undefined) throw new Error(`no version for ${remote}`);
    return version;
  } finally {
    client.close();
  }
}

/**
 * Record, beside a hand-made `.part`, the version of `remote` on the server
 * now, as an interrupted download of that version would have left it.
 */
export async function recordPartVersion(port: number, remote: string, partPath: string): Promise<void> {
  await writePartVersion(partPath, await remoteVersion(port, remote));
}
