import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSelfSigned, writeCertificatePair, type CertificatePair } from '../../src/auth/self-signed';
import { FtpClient } from '../../src/client';
import { TLS_REFUSAL_TIMEOUT_MS } from '../../src/core/tls-acceptor';
import { FakeClock } from '../../src/util/clock';
import { spawnServer } from '../helpers/server-process';
import { startAuthServer, type AuthServer } from './auth-server';

const ALICE = { name: 'alice', password: 'alice-correct-horse' };
let pair: CertificatePair;
beforeAll(async () => {
  pair = await createSelfSigned();
});

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not seen in time: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `n` plain TCP sockets that never start TLS; `closed()` counts those the server has closed. */
async function silentSockets(port: number, n: number) {
  const sockets: net.Socket[] = [];
  const gone = new Set<net.Socket>();
  for (let i = 0; i < n; i += 1) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.once('close', () => gone.add(socket));
    await new Promise((resolve) => socket.once('connect', resolve));
    sockets.push(socket);
  }
  return { sockets, closed: () => gone.size, isOpen: (s: net.Socket) => !gone.has(s), destroy: () => sockets.forEach((s) => s.destroy()) };
}

describe('admission on the raw TCP connection, before the TLS handshake', () => {
  let srv: AuthServer | undefined;
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
  });

  it('60 sockets that never handshake hold at most the per-IP cap of 5; the rest are closed promptly; TLS clients get a clear answer, then service', async () => {
    const clock = new FakeClock();
    srv = await startAuthServer({ users: [ALICE], clock, tls: { cert: pair.cert, key: pair.key }, limits: { maxConnectionsPerIp: 5 } });
    const flood = await silentSockets(srv.port, 60);
    try {
      // Past the 5 places, two refusals get a short window to take an
      // encrypted 429; every other one is closed at once.
      await until(() => flood.closed() >= 53, '53 sockets closed at once');
      expect(srv.server.openConnections).toBe(5);
      expect(srv.server.activeSessions).toBe(0);
      clock.advance(TLS_REFUSAL_TIMEOUT_MS);
      await until(() => flood.closed() === 55, 'the two refusal windows over');
      expect(flood.sockets.slice(0, 5).every(flood.isOpen)).toBe(true);

      // A real TLS client meanwhile: refused, in words, over TLS.
      await expect(FtpClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, tls: { ca: pair.cert } })).rejects.toMatchObject({
        kind: 'refused',
        code: 429,
        message: 'server refused the connection: Too many connections from your address (429)',
      });

      // The held five keep their places only until the handshake timeout.
      clock.advance(30_000);
      await until(() => flood.closed() === 60, 'the five held sockets cut');
      await until(() => srv!.server.openConnections === 0, 'every place given back');
      const client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, tls: { ca: pair.cert } });
      expect(client.greeting).toMatchObject({ code: 200 });
      await client.auth('alice', ALICE.password);
      expect((await client.list('/')).length).toBe(0);
      await client.quit();

      // Nothing was silent: the refusals (throttled to one line) and the timeouts are in the log.
      const warnings = srv.log.lines.filter((l) => l.level === 'WARNING').map((l) => l.message);
      expect(warnings.filter((m) => m.startsWith('Refused connection'))).toEqual([
        expect.stringMatching(/^Refused connection from 127\.0\.0\.1:\d+: Too many connections from your address \(429\)$/),
      ]);
      expect(warnings).toContainEqual(expect.stringMatching(/^TLS handshake failed from 127\.0\.0\.1:\d+: not finished within 30 s$/));
      expect(srv.log.lines.filter((l) => /^New connection/.test(l.message))).toHaveLength(1);
    } finally {
      flood.destroy();
    }
  });

  it('a banned address is refused before its handshake, and its flood cannot hold a place', async () => {
    const clock = new FakeClock();
    srv = await startAuthServer({ users: [ALICE], clock, policy: { maxFailures: 1 }, tls: { cert: pair.cert, key: pair.key } });
    const client = await FtpClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, tls: { ca: pair.cert } });
    await expect(client.auth('alice', 'guess')).rejects.toMatchObject({ code: 401 });
    client.close();
    await until(() => srv!.server.openConnections === 0, 'the session gone');
    const flood = await silentSockets(srv.port, 10);
    try {
      await until(() => flood.closed() >= 8, 'eight closed at once');
      expect(srv.server.openConnections).toBe(0);
      clock.advance(TLS_REFUSAL_TIMEOUT_MS);
      await until(() => flood.closed() === 10, 'all ten closed');
    } finally {
      flood.destroy();
    }
  });
});

describe('TLS under a low open-file limit (the CLI server under ulimit -n 64)', () => {
  it('never-handshaking sockets cannot starve TLS clients: the excess is refused and logged, a TLS client gets 503, then service', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-tls-fd-'));
    const files = await writeCertificatePair(path.join(dir, 'tls'), pair);
    const server = await spawnServer(
      ['--host', '127.0.0.1', '--port', '0', '--root', 'files', '--log-dir', 'logs', '--rate-limit', '0', '--max-connections-per-ip', '500',
        '--tls-cert', files.cert, '--tls-key', files.key],
      dir,
      20_000,
      { fdLimit: 64 },
    );
    const flood = await silentSockets(server.port, 100);
    try {
      // 40 places fit the limit; the other 60 are refused and closed (two
      // after their 2 s refusal window), none of them accepted silently.
      await until(() => flood.closed() === 60, 'the 60 refused sockets closed', 15_000);
      expect(flood.sockets.slice(0, 40).every(flood.isOpen)).toBe(true);
      const output = server.output();
      expect(output).toMatch(/WARNING - The open-file limit \(64\) leaves room for 40 connections/);
      expect(output).toMatch(/WARNING - Refused connection from 127\.0\.0\.1:\d+: Connection limit reached \(503\)/);

      await expect(FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, tls: { ca: pair.cert } })).rejects.toMatchObject({
        kind: 'refused',
        code: 503,
      });

      flood.destroy();
      // The held sockets hang up mid-handshake: their places come back, and that is logged too.
      let greeted = false;
      for (let attempt = 0; attempt < 50 && !greeted; attempt += 1) {
        const client = await FtpClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, tls: { ca: pair.cert } }).catch(() => undefined);
        greeted = client?.greeting.code === 200;
        if (client) await client.quit().catch(() => client.close());
        if (!greeted) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(greeted).toBe(true);
      expect(server.output()).toMatch(/WARNING - TLS handshake failed from 127\.0\.0\.1:\d+: the client hung up/);
      expect(server.child.exitCode).toBeNull();
    } finally {
      flood.destroy();
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
    // Starting the CLI (ts-node without dist/) is slow on a busy machine.
  }, 90_000);
});
