/**
 * The FTP port on the shared core: ABOR during a transfer, idle 421,
 * connection caps and bans that hold across both ports, drain on close,
 * and the protocol label in metrics and the transfer log. Real sockets on
 * 127.0.0.1; the idle test moves a FakeClock instead of sleeping.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MetricsObserver } from '../../src/admin/metrics';
import { combineObservers } from '../../src/admin/observers';
import { TransferLog } from '../../src/logging/transfer-log';
import { FakeClock } from '../../src/util/clock';
import { parseMetrics, valueOf } from '../admin/admin-helpers';
import { RawConnection } from '../helpers/raw-connection';
import { dataConnect, FtpControl, readAll, startFtp, transfer, within, type FtpHarness } from './helpers/ftp-harness';

const BIG = 16 * 1024 * 1024;

describe('ABOR during a transfer', () => {
  let h: FtpHarness;
  beforeAll(async () => {
    h = await startFtp({ prepare: async ({ root }) => fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(BIG, 7)) });
  });
  afterAll(async () => h.stop());

  it('stops a download the client is not reading: 426, then 226, and the session goes on', async () => {
    const c = await h.login();
    const port = await c.passive();
    const data = await dataConnect(port);
    data.pause(); // The server's writes back up: the transfer is under way, not finished.
    expect((await c.cmd('RETR big.bin')).raw).toBe('150 Opening BINARY mode data connection for /big.bin (16777216 bytes)\r\n');
    c.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2])); // Telnet IP, DM, as RFC 959 asks before ABOR.
    c.send('ABOR');
    expect((await c.read()).code).toBe(426);
    expect((await c.read()).raw).toBe('226 ABOR successful\r\n');
    data.destroy();
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.close();
    expect(h.log.lines.some((l) => /^GET: Failed to send file - big\.bin \(\d+ of 16777216 bytes in \d+ ms: .*ABOR/.test(l.message))).toBe(true);
  });

  it('stops an upload: 426, then 226, and no file is published', async () => {
    const c = await h.login();
    const port = await c.passive();
    const data = await dataConnect(port);
    data.on('error', () => undefined);
    expect((await c.cmd('STOR partial.bin')).raw).toBe('150 Ok to send data\r\n');
    data.write(Buffer.alloc(64 * 1024, 1));
    c.send('ABOR');
    const aborted = await c.read();
    expect(aborted.code).toBe(426);
    expect((await c.read()).raw).toBe('226 ABOR successful\r\n');
    await expect(fs.stat(path.join(h.root, 'partial.bin'))).rejects.toThrow();
    data.destroy();
    c.close();
  });

  it('answers STAT during a transfer with its progress, then the transfer ends normally', async () => {
    const c = await h.login();
    const port = await c.passive();
    const data = await dataConnect(port);
    data.pause();
    expect((await c.cmd('RETR big.bin')).code).toBe(150);
    const stat = await c.cmd('STAT');
    expect(stat.raw).toMatch(/^213 Transferring: RETR \/?big\.bin, \d+ bytes so far\r\n$/);
    const all = readAll(data);
    data.resume();
    expect((await all).length).toBe(BIG);
    expect((await c.read()).raw).toBe('226 Transfer complete\r\n');
    c.close();
  });
});

describe('idle control connections', () => {
  it('get 421 and are closed after the idle timeout (fake clock)', async () => {
    const clock = new FakeClock();
    const h = await startFtp({ clock, limits: { idleTimeoutMs: 60_000 } });
    try {
      const c = await h.login();
      clock.advance(59_000);
      expect((await c.cmd('NOOP')).code).toBe(200);
      clock.advance(59_000); // NOOP counted as activity: still open.
      expect((await c.cmd('PWD')).code).toBe(257);
      clock.advance(60_001);
      expect((await c.read()).raw).toBe('421 Timeout: idle for 60 s; closing the control connection\r\n');
      await c.waitClosed();
      const fresh = await h.connect(); // Before login too.
      clock.advance(60_001);
      expect((await fresh.read()).code).toBe(421);
      await fresh.waitClosed();
    } finally {
      await h.stop();
    }
  });
});

describe('bounded waits on data connections (fake clock)', () => {
  let clock: FakeClock;
  let h: FtpHarness;
  beforeAll(async () => {
    clock = new FakeClock();
    h = await startFtp({ clock, limits: { transferTimeoutMs: 30_000 }, prepare: async ({ root }) => fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(BIG, 5)) });
  });
  afterAll(async () => h.stop());

  it('answers 425 when the client never opens the passive data connection', async () => {
    const c = await h.login();
    await c.passive();
    const before = clock.pendingTimers;
    c.send('RETR big.bin');
    // Let the command reach its wait (its timer) before time moves.
    await within(
      (async () => {
        while (clock.pendingTimers <= before) await new Promise((resolve) => setImmediate(resolve));
      })(),
      5_000,
      'the wait for the data connection',
    );
    clock.advance(30_001);
    expect((await c.read()).raw).toBe('425 No data connection within 30 s\r\n');
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.close();
  });

  it('aborts a transfer that stalls for the transfer timeout: 426, and the session goes on', async () => {
    const c = await h.login();
    const port = await c.passive();
    const data = await dataConnect(port);
    data.pause();
    data.on('error', () => undefined);
    expect((await c.cmd('RETR big.bin')).code).toBe(150);
    clock.advance(30_001);
    const reply = await c.read();
    expect(reply.raw).toMatch(/^426 Connection closed; transfer aborted \(stalled for 30 s\)\r\n$/);
    expect((await c.cmd('NOOP')).code).toBe(200);
    data.destroy();
    c.close();
  });
});

describe('one door for both ports', () => {
  it('counts native and FTP connections against one per-IP cap', async () => {
    const h = await startFtp({ native: true, limits: { maxConnectionsPerIp: 2 } });
    try {
      const { conn: nativeConn } = await RawConnection.open(h.native!.port);
      const ftp = await h.connect();
      // The third connection, on either port, is over the cap.
      const refused = await h.connect();
      expect(refused.greeting?.raw).toMatch(/^421 .+\r\n$/);
      await refused.waitClosed();
      const { greeting } = await RawConnection.open(h.native!.port);
      expect(greeting).toMatchObject({ code: 429 });
      // A place freed on one port is usable on the other.
      ftp.close();
      await within(
        (async () => {
          while (h.ftp.activeSessions > 0) await new Promise((resolve) => setImmediate(resolve));
        })(),
        5_000,
        'FTP session release',
      );
      const again = await RawConnection.open(h.native!.port);
      expect(again.greeting).toMatchObject({ code: 200 });
      again.conn.socket.destroy();
      nativeConn.socket.destroy();
    } finally {
      await h.stop();
    }
  });

  it('bans an address for failed FTP logins on the native port too', async () => {
    const h = await startFtp({ native: true, users: [{ name: 'alice', password: 'right' }], policy: { maxFailures: 2 } });
    try {
      const c = await h.connect();
      expect((await c.cmd('USER alice')).code).toBe(331);
      expect((await c.cmd('PASS wrong')).raw).toBe('530 Login incorrect\r\n');
      expect((await c.cmd('USER alice')).code).toBe(331);
      const second = await c.cmd('PASS wrong');
      expect([530, 421]).toContain(second.code);
      c.close();
      // Banned now: the native port refuses before any login, and so does the FTP port.
      const { greeting } = await RawConnection.open(h.native!.port);
      expect(greeting).toMatchObject({ code: 429 });
      const ftp = await FtpControl.open(h.port);
      expect(ftp.greeting?.code).toBe(421);
      await ftp.waitClosed();
    } finally {
      await h.stop();
    }
  });

  it('logs in with accounts: homes and permissions from the users file', async () => {
    const h = await startFtp({
      users: [{ name: 'reader', password: 'pw', permissions: ['read'], home: 'r' }],
      prepare: async ({ root }) => {
        await fs.mkdir(path.join(root, 'r'));
        await fs.writeFile(path.join(root, 'r', 'mine.txt'), 'mine');
        await fs.writeFile(path.join(root, 'top.txt'), 'not for reader');
      },
    });
    try {
      const c = await h.login('reader', 'pw');
      expect((await transfer(c, 'RETR mine.txt')).data.toString()).toBe('mine');
      expect((await c.cmd('SIZE /top.txt')).code).toBe(550);
      expect((await c.cmd('MKD new')).code).toBe(550);
      expect((await c.cmd('DELE mine.txt')).code).toBe(550);
      expect((await transfer(c, 'STOR up.txt', 'x')).final.code).toBe(550);
      await expect(fs.stat(path.join(h.root, 'r', 'up.txt'))).rejects.toThrow();
      c.close();
    } finally {
      await h.stop();
    }
  });
});

describe('anonymous logins and repeated failures', () => {
  let h: FtpHarness;
  beforeAll(async () => {
    h = await startFtp({
      users: [{ name: 'alice', password: 'right' }],
      anonymous: { permissions: ['read'] },
      policy: { maxFailures: 100 },
      prepare: async ({ root }) => fs.writeFile(path.join(root, 'pub.txt'), 'public'),
    });
  });
  afterAll(async () => h.stop());

  it.each(['anonymous', 'ftp', 'FTP'])('logs %s in as the anonymous user, read-only', async (name) => {
    const c = await h.connect();
    expect((await c.cmd(`USER ${name}`)).raw).toBe('331 Anonymous login: send any password\r\n');
    expect((await c.cmd('PASS guest@example.com')).raw).toBe('230 Login successful\r\n');
    expect((await transfer(c, 'RETR pub.txt')).data.toString()).toBe('public');
    expect((await transfer(c, 'STOR new.txt', 'x')).final.code).toBe(550);
    expect((await c.cmd('MKD d')).code).toBe(550);
    await expect(fs.stat(path.join(h.root, 'new.txt'))).rejects.toThrow();
    c.close();
  });

  it('closes a control connection after three wrong passwords', async () => {
    const c = await h.connect();
    for (let i = 0; i < 2; i++) {
      expect((await c.cmd('USER alice')).code).toBe(331);
      expect((await c.cmd('PASS wrong')).raw).toBe('530 Login incorrect\r\n');
    }
    expect((await c.cmd('USER alice')).code).toBe(331);
    expect((await c.cmd('PASS wrong')).raw).toBe('530 Login incorrect; too many failures, closing the connection\r\n');
    await c.waitClosed();
    const again = await h.login('alice', 'right');
    expect((await again.cmd('PWD')).code).toBe(257);
    again.close();
  });
});

describe('drain on close', () => {
  it('lets a transfer in flight finish, tells idle sessions 421, refuses new connections', async () => {
    const h = await startFtp({ prepare: async ({ root }) => fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(BIG, 3)) });
    const busy = await h.login();
    const idle = await h.login();
    const port = await busy.passive();
    const data = await dataConnect(port);
    data.pause();
    expect((await busy.cmd('RETR big.bin')).code).toBe(150);
    const closing = h.ftp.close(20_000);
    expect((await idle.read()).raw).toBe('421 Server shutting down\r\n');
    await expect(FtpControl.open(h.port)).rejects.toThrow();
    await idle.waitClosed();
    const all = readAll(data);
    data.resume();
    expect((await all).length).toBe(BIG);
    expect((await busy.read()).raw).toBe('226 Transfer complete\r\n');
    expect((await busy.read()).raw).toBe('421 Server shutting down\r\n');
    await busy.waitClosed();
    await closing;
    await h.stop();
  });
});

describe('metrics and the transfer log', () => {
  it('label FTP series protocol="ftp" and leave the native ones as they were', async () => {
    const metrics = new MetricsObserver({ defaultMetrics: false });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-observe-'));
    const transferLog = TransferLog.open({ file: path.join(dir, 'transfers.log') });
    const h = await startFtp({ native: true, observer: combineObservers([metrics, transferLog]) });
    try {
      await h.put('a.txt', 'hello');
      const c = await h.login();
      expect((await transfer(c, 'RETR a.txt')).final.code).toBe(226);
      expect((await transfer(c, 'STOR b.txt', 'abc')).final.code).toBe(226);
      expect((await transfer(c, 'RETR missing.txt')).final.code).toBe(550);
      c.close();
      const { conn } = await RawConnection.open(h.native!.port);
      expect(await conn.request('GET', { filename: 'a.txt' })).toMatchObject({ code: 200 });
      await conn.bytes(5);
      await conn.frame();
      conn.socket.destroy();
      await within(
        (async () => {
          while (metrics.snapshot().downloads.ok < 2) await new Promise((resolve) => setImmediate(resolve));
        })(),
        5_000,
        'both downloads recorded',
      );
      const s = parseMetrics(await metrics.metricsText());
      expect(valueOf(s, 'ftp_server_connections_total', { result: 'accepted', protocol: 'ftp' })).toBe(1);
      expect(valueOf(s, 'ftp_server_connections_total', { result: 'accepted' })).toBe(1);
      expect(valueOf(s, 'ftp_server_commands_total', { command: 'RETR', code: '550', protocol: 'ftp' })).toBe(1);
      expect(valueOf(s, 'ftp_server_commands_total', { command: 'GET', code: '200' })).toBe(1);
      expect(valueOf(s, 'ftp_server_transfers_total', { direction: 'download', result: 'ok', protocol: 'ftp' })).toBe(1);
      expect(valueOf(s, 'ftp_server_transfers_total', { direction: 'download', result: 'ok' })).toBe(1);
      expect(valueOf(s, 'ftp_server_transfers_total', { direction: 'upload', result: 'ok', protocol: 'ftp' })).toBe(1);
      expect(valueOf(s, 'ftp_server_bytes_sent_total', { protocol: 'ftp' })).toBe(5);
      expect(valueOf(s, 'ftp_server_bytes_sent_total')).toBe(5);
      expect(valueOf(s, 'ftp_server_bytes_received_total', { protocol: 'ftp' })).toBe(3);
      await transferLog.close();
      const rows = (await fs.readFile(path.join(dir, 'transfers.log'), 'utf8')).trimEnd().split('\n').slice(1).map((line) => line.split('\t'));
      expect(rows.map((row) => [row[3], row[8], row[10]])).toEqual([
        ['download', 'a.txt', 'ftp'],
        ['upload', 'b.txt', 'ftp'],
        ['download', 'a.txt', 'native'],
      ]);
      // The FTP port logs missing files with the native port's words, so one recipe counts both.
      expect(h.log.lines.some((l) => l.label.startsWith('FTP-') && l.message === 'GET: File not found - missing.txt')).toBe(true);
    } finally {
      await h.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
