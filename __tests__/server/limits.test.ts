import { FakeClock } from '../../src/util/clock';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';

let t: TestServer | undefined;
const open: RawConnection[] = [];

async function connect(port: number) {
  const result = await RawConnection.open(port);
  open.push(result.conn);
  return result;
}

afterEach(async () => {
  for (const conn of open.splice(0)) conn.close();
  await t?.stop();
  t = undefined;
});

/** Poll a condition that depends on socket events, for a bounded time. */
async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('connection limits', () => {
  it('refuses past --max-connections with a 503 greeting and closes', async () => {
    t = await startTestServer({ limits: { maxConnections: 3, maxConnectionsPerIp: 10 } });
    for (let i = 0; i < 3; i++) expect((await connect(t.port)).greeting.code).toBe(200);
    const refused = await connect(t.port);
    expect(refused.greeting).toEqual({ type: 'connection', code: 503, message: 'Connection limit reached' });
    await refused.conn.waitClosed();
    expect(t.log.lines.some((l) => l.level === 'WARNING' && /Refused connection from 127\.0\.0\.1:\d+: .*\(503\)/.test(l.message))).toBe(true);
    // A slot frees when a client leaves, and the registry forgets it.
    open[0].close();
    await eventually(() => t!.server.activeSessions === 2);
    expect((await connect(t.port)).greeting.code).toBe(200);
  });

  it('never runs a command sent by a refused connection', async () => {
    t = await startTestServer({ limits: { maxConnections: 1 } });
    await t.put('keep.txt', 'still here');
    await connect(t.port);
    const net = await import('node:net');
    const fs = await import('node:fs/promises');
    const { encodeFrame } = await import('../../src/protocol/frame-encoder');
    // The command is queued before the connection even completes, so it is
    // in the server's socket buffer by the time the refusal is decided.
    for (let attempt = 0; attempt < 20; attempt++) {
      const socket = net.connect({ host: '127.0.0.1', port: t.port });
      socket.on('error', () => {});
      socket.write(encodeFrame({ type: 'command', command: 'DELETE', filename: 'keep.txt' }));
      const received: Buffer[] = [];
      socket.on('data', (chunk) => received.push(chunk));
      await new Promise((resolve) => socket.once('close', resolve));
      const text = Buffer.concat(received).toString('utf8');
      expect(text).toContain('"code":503');
      expect(text).not.toContain('"type":"response"');
    }
    expect(await fs.readFile(`${t.root}/keep.txt`, 'utf8')).toBe('still here');
  });

  it('refuses past --max-connections-per-ip with 429', async () => {
    t = await startTestServer({ limits: { maxConnectionsPerIp: 2 } });
    await connect(t.port);
    await connect(t.port);
    const refused = await connect(t.port);
    expect(refused.greeting).toMatchObject({ type: 'connection', code: 429 });
    await refused.conn.waitClosed();
  });

  it('refuses a flood of new connections from one IP within the rate window, then admits again', async () => {
    const clock = new FakeClock();
    t = await startTestServer({ clock, limits: { rateLimit: 3, rateWindowMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      const { conn, greeting } = await connect(t.port);
      expect(greeting.code).toBe(200);
      conn.close();
    }
    const refused = await connect(t.port);
    expect(refused.greeting).toMatchObject({ code: 429 });
    clock.advance(59_999);
    expect((await connect(t.port)).greeting.code).toBe(429);
    clock.advance(1);
    expect((await connect(t.port)).greeting.code).toBe(200);
  });

  it('does not limit the rate when --rate-limit is 0', async () => {
    t = await startTestServer({ limits: { rateLimit: 0 } });
    for (let i = 0; i < 130; i++) {
      const { conn, greeting } = await connect(t.port);
      expect(greeting.code).toBe(200);
      conn.close();
    }
  });
});

describe('timeouts (fake clock: nothing sleeps)', () => {
  it('closes a connection idle past --idle-timeout, and not before', async () => {
    const clock = new FakeClock();
    t = await startTestServer({ clock, limits: { idleTimeoutMs: 300_000 } });
    const { conn } = await connect(t.port);
    clock.advance(299_000);
    expect(await conn.request('LS')).toMatchObject({ code: 200 });
    // The command pushed the deadline back.
    clock.advance(299_000);
    expect(conn.closed).toBe(false);
    clock.advance(1_000);
    await conn.waitClosed();
    expect(t.log.lines.some((l) => l.level === 'WARNING' && l.message.includes('idle for 300 s'))).toBe(true);
  });

  it('closes a connection whose frame does not arrive whole within --frame-timeout', async () => {
    const clock = new FakeClock();
    t = await startTestServer({ clock, limits: { frameTimeoutMs: 30_000 } });
    const { conn } = await connect(t.port);
    conn.write(Buffer.from([0, 0, 0, 40, 0x7b]));
    await eventually(() => clock.pendingTimers >= 2);
    clock.advance(29_999);
    expect(conn.closed).toBe(false);
    clock.advance(1);
    await conn.waitClosed();
  });

  it('aborts an upload whose payload stalls past --transfer-timeout and removes the temp file', async () => {
    const clock = new FakeClock();
    t = await startTestServer({ clock, limits: { transferTimeoutMs: 60_000 } });
    await t.put('keep.txt', 'old');
    const { conn } = await connect(t.port);
    expect(await conn.request('PUT', { filename: 'keep.txt', size: 100 })).toMatchObject({ code: 150 });
    conn.write(Buffer.alloc(10));
    await eventually(() => clock.pendingTimers >= 2);
    clock.advance(60_000);
    await conn.waitClosed();
    const fs = await import('node:fs/promises');
    for (let i = 0; i < 100 && (await fs.readdir(t.root)).length > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await fs.readdir(t.root)).toEqual(['keep.txt']);
    expect(await fs.readFile(`${t.root}/keep.txt`, 'utf8')).toBe('old');
  });

  it('ends a download to a client that stops reading once it stalls', async () => {
    const clock = new FakeClock();
    t = await startTestServer({ clock, limits: { transferTimeoutMs: 60_000 } });
    await t.put('big.bin', Buffer.alloc(32 * 1024 * 1024));
    const { conn } = await connect(t.port);
    conn.socket.pause();
    conn.command('GET', { filename: 'big.bin' });
    // The idle timer plus the download's stall timer: the transfer is under way.
    await eventually(() => clock.pendingTimers >= 2);
    clock.advance(60_000);
    await eventually(() => t!.log.lines.some((l) => l.message.includes('download stalled for 60 s')));
    await eventually(() => t!.server.activeSessions === 0);
    // A paused socket only reports the close once its buffered bytes are read.
    conn.socket.resume();
    await conn.waitClosed();
  });
});

describe('graceful shutdown', () => {
  it('closes idle sessions, lets a transfer in flight finish, and stops accepting', async () => {
    t = await startTestServer();
    const size = 16 * 1024 * 1024;
    await t.put('big.bin', Buffer.alloc(size, 1));
    const idle = await connect(t.port);
    const busy = await connect(t.port);
    busy.conn.command('GET', { filename: 'big.bin' });
    const header = await busy.conn.frame();
    expect(header).toMatchObject({ code: 200 });
    const closing = t.server.close(5_000);
    await idle.conn.waitClosed();
    const payload = await busy.conn.bytes(size, 10_000);
    expect(payload.length).toBe(size);
    expect(await busy.conn.frame()).toMatchObject({ code: 226 });
    await busy.conn.waitClosed();
    await closing;
    await expect(RawConnection.connect(t.port)).rejects.toThrow();
    expect(t.log.lines.some((l) => l.message.startsWith('Server shutting down...'))).toBe(true);
  });
});
