import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import tls from 'node:tls';
import { createSelfSigned, type CertificatePair } from '../../src/auth/self-signed';
import { loadTlsFiles } from '../../src/auth/tls-files';
import { FtpClient, FtpError } from '../../src/client';
import { FileServer } from '../../src/server/file-server';
import { FakeClock } from '../../src/util/clock';
import { startAuthServer, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };
let pair: CertificatePair;
let other: CertificatePair;
let srv: AuthServer;

beforeAll(async () => {
  [pair, other] = await Promise.all([createSelfSigned(), createSelfSigned({ hosts: ['example.test'] })]);
  srv = await startAuthServer({ users: [ALICE], tls: { cert: pair.cert, key: pair.key } });
});
afterAll(() => srv.stop());

const connect = (options: Partial<Parameters<typeof FtpClient.connect>[0]> = {}) =>
  FtpClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, tls: { ca: pair.cert }, ...options });

it('serves a whole session over TLS when the client trusts the certificate', async () => {
  const client = await connect();
  expect(client.greeting).toMatchObject({ code: 200, auth_required: true });
  await client.auth('alice', ALICE.password);
  const content = Buffer.from('over an encrypted channel\n'.repeat(5_000));
  await client.put('secret.txt', Readable.from([content]), content.length);
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const got = await client.get('secret.txt', sink);
  expect(Buffer.concat(chunks).equals(content)).toBe(true);
  expect(got.sha256).toBe(createHash('sha256').update(content).digest('hex'));
  await client.quit();
  expect((await fs.readFile(path.join(srv.root, 'alice', 'secret.txt'))).equals(content)).toBe(true);
});

it('refuses the connection when the client does not trust the certificate', async () => {
  const before = srv.log.lines.filter((l) => /New connection/.test(l.message)).length;
  const untrusted = connect({ tls: {} });
  await expect(untrusted).rejects.toMatchObject({ kind: 'tls', message: expect.stringMatching(/self-signed.*--ca/) });
  const wrongCa = connect({ tls: { ca: other.cert } });
  await expect(wrongCa).rejects.toBeInstanceOf(FtpError);
  await expect(wrongCa).rejects.toMatchObject({ kind: 'tls' });
  // No session ever started for them; the server says why, with the client's address.
  expect(srv.log.lines.filter((l) => /New connection/.test(l.message)).length).toBe(before);
  await until(() => srv.log.lines.some((l) => l.level === 'WARNING' && /^TLS handshake failed from 127\.0\.0\.1:\d+: /.test(l.message)));
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('checks the name: a certificate for another host is refused even when trusted', async () => {
  const server = await FileServer.start({ root: srv.outside, host: '127.0.0.1', port: 0, tls: { cert: other.cert, key: other.key } });
  try {
    await expect(
      FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, tls: { ca: other.cert } }),
    ).rejects.toMatchObject({ kind: 'tls', message: expect.stringMatching(/another name/) });
  } finally {
    await server.close(500);
  }
});

it('speaks TLS only: a plain client never sees a cleartext greeting', async () => {
  const socket = net.connect({ host: '127.0.0.1', port: srv.port });
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  // A protocol frame where a ClientHello belongs: the server gives up on the handshake.
  const frame = Buffer.from(JSON.stringify({ type: 'command', command: 'LS' }));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(frame.length);
  socket.write(Buffer.concat([header, frame]));
  await new Promise((resolve) => socket.once('close', resolve));
  expect(Buffer.concat(received).toString('latin1')).not.toContain('connection');
});

it.each([
  ['TLS 1.1', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL'],
  ['a CBC cipher on TLS 1.2', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_NO_SHARED_CIPHER'],
] as const)('refuses %s: the server answers with a TLS alert, logs why, and goes on serving', async (_what, options, alert, reason) => {
  // A server of its own: handshake failures are logged once per address per 10 s.
  const own = await startAuthServer({ users: [ALICE], tls: { cert: pair.cert, key: pair.key } });
  try {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: own.port, ca: pair.cert, ...options }, () => {
        resolve(`connected with ${socket.getProtocol()} ${socket.getCipher().name}`);
        socket.destroy();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code}`));
    });
    // The alert the server sent, not a reset or a closed socket (what a crash would give).
    expect(outcome).toBe(`refused ${alert}`);
    await until(() => own.log.lines.some((l) => l.level === 'WARNING' && new RegExp(`^TLS handshake failed from 127\\.0\\.0\\.1:\\d+: ${reason}$`).test(l.message)));
    const client = await FtpClient.connect({ host: '127.0.0.1', port: own.port, timeoutMs: 5_000, tls: { ca: pair.cert } });
    expect(client.greeting).toMatchObject({ code: 200 });
    await client.quit();
  } finally {
    await own.stop();
  }
});

it('sends refusal greetings over TLS too (a banned IP gets 429)', async () => {
  const clock = new FakeClock();
  const banning = await startAuthServer({ users: [ALICE], clock, policy: { maxFailures: 1 }, tls: { cert: pair.cert, key: pair.key } });
  try {
    const client = await FtpClient.connect({ host: '127.0.0.1', port: banning.port, timeoutMs: 5_000, tls: { ca: pair.cert } });
    await expect(client.auth('alice', 'guess')).rejects.toMatchObject({ code: 401 });
    client.close();
    await expect(
      FtpClient.connect({ host: '127.0.0.1', port: banning.port, timeoutMs: 5_000, tls: { ca: pair.cert } }),
    ).rejects.toMatchObject({ kind: 'refused', code: 429 });
  } finally {
    await banning.stop();
  }
});

describe('loading certificate files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-tls-files-'));
    await fs.writeFile(path.join(dir, 'cert.pem'), pair.cert);
    await fs.writeFile(path.join(dir, 'key.pem'), pair.key);
    await fs.writeFile(path.join(dir, 'other-key.pem'), other.key);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('accepts a matching pair and describes it', async () => {
    const loaded = await loadTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
    expect(loaded.summary).toMatch(/CN=localhost.*IP Address:127\.0\.0\.1.*self-signed/);
  });

  it('refuses a key of another certificate, a missing file and an expired certificate, without key material in the message', async () => {
    await expect(loadTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'other-key.pem'))).rejects.toThrow(/does not belong to the certificate/);
    await expect(loadTlsFiles(path.join(dir, 'nope.pem'), path.join(dir, 'key.pem'))).rejects.toThrow(/cannot read the certificate .*nope\.pem \(ENOENT\)/);
    const inTwoYears = Date.now() + 2 * 365 * 24 * 3600 * 1000;
    await expect(loadTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), undefined, inTwoYears)).rejects.toThrow(/expired/);
    const err = await loadTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'other-key.pem')).catch((e: Error) => e);
    expect(String(err as Error)).not.toContain('PRIVATE KEY');
  });
});
