/**
 * The PROXY gate on real sockets: a test client plays the load balancer from
 * 127.0.0.2 (the only trusted address) and a "direct" client connects from
 * 127.0.0.1, both to a server on 127.0.0.1, port 0.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { TrustedProxies } from '../../src/cluster/addresses';
import { createProxyAcceptor, type ProxiedConnection, type ProxyAcceptorOptions, type ProxyRefusal } from '../../src/cluster/proxy-listener';
import { createSelfSigned } from '../../src/auth/self-signed';
import { MemoryLog } from '../../src/logging/log';
import { LogThrottle } from '../../src/logging/throttle';
import { FakeClock } from '../../src/util/clock';
import { inet6, v1, v2, v2Inet4 } from './proxy-bytes';

const BALANCER = '127.0.0.2';

interface Gate {
  port: number;
  log: MemoryLog;
  clock: FakeClock;
  accepted: ProxiedConnection[];
  refused: Array<[ProxyRefusal, string]>;
  /** Resolves on the server's next raw 'connection' (the gate has armed its timer by then). */
  nextRawConnection(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A server whose handler answers `remote-address:port\n` and then echoes (or
 * digests, with `digest`) what the client sends, reading with `'readable'`
 * and `read()` as the server's sessions do.
 */
async function startGate(
  handler: 'echo' | 'digest' = 'echo',
  overrides: Partial<ProxyAcceptorOptions> = {},
  host = '127.0.0.1',
): Promise<Gate> {
  const log = new MemoryLog();
  const clock = new FakeClock();
  const accepted: ProxiedConnection[] = [];
  const refused: Array<[ProxyRefusal, string]> = [];
  const acceptor = createProxyAcceptor(
    {
      trusted: TrustedProxies.parse(`${BALANCER}/32, ::1`),
      clock,
      log,
      throttle: new LogThrottle(clock, 10_000),
      onRefused: (reason, peer) => refused.push([reason, peer]),
      ...overrides,
    },
    (connection) => {
      accepted.push(connection);
      const { socket, remote } = connection;
      socket.write(`${remote.address}:${remote.port}\n`);
      if (handler === 'echo') {
        socket.on('readable', () => {
          let chunk: Buffer | null;
          while ((chunk = socket.read() as Buffer | null) !== null) socket.write(chunk);
        });
        socket.on('end', () => socket.end());
      } else {
        const hash = createHash('sha256');
        let bytes = 0;
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
        socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}\n`));
      }
    },
  );
  const waiters: Array<() => void> = [];
  const server = net.createServer((socket) => {
    acceptor(socket);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    log,
    clock,
    accepted,
    refused,
    nextRawConnection: () => new Promise<void>((resolve) => waiters.push(resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A connected socket; `port` is its local port, kept because Node forgets it once the socket closes. */
async function connect(port: number, localAddress: string, host = '127.0.0.1'): Promise<net.Socket & { port: number }> {
  const socket = net.connect({ port, host, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return Object.assign(socket, { port: socket.localPort! });
}

/** Everything the server sends until it closes (bounded by the test timeout). */
function readAll(socket: net.Socket | tls.TLSSocket): Promise<{ text: string; closedWithError?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), ...(error ? { closedWithError: error } : {}) }));
  });
}

const gates: Gate[] = [];
afterEach(async () => {
  await Promise.all(gates.splice(0).map((g) => g.close()));
});
async function gate(...args: Parameters<typeof startGate>): Promise<Gate> {
  const g = await startGate(...args);
  gates.push(g);
  return g;
}

describe('PROXY gate on real sockets', () => {
  test("a trusted proxy's v2 header names the client; the bytes after it reach the server unread", async () => {
    const g = await gate();
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    socket.end(Buffer.concat([v2Inet4('203.0.113.9', 61000, '127.0.0.1', g.port), Buffer.from('hello, server')]));
    expect((await reply).text).toBe('203.0.113.9:61000\nhello, server');
    expect(g.accepted).toHaveLength(1);
    expect(g.accepted[0].proxy).toMatchObject({ address: BALANCER, port: socket.port });
    expect(g.accepted[0].header).toMatchObject({ version: 2, command: 'proxy' });
    expect(g.log.lines).toEqual([]);
  });

  test('a v1 header written in pieces, then 4 MiB, arrive whole and in order', async () => {
    const g = await gate('digest');
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    const header = v1('198.51.100.77', '127.0.0.1', 40001, g.port);
    for (const piece of [header.subarray(0, 3), header.subarray(3, 20), header.subarray(20)]) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const payload = randomBytes(4 * 1024 * 1024);
    socket.end(payload);
    const expected = `${payload.length} ${createHash('sha256').update(payload).digest('hex')}\n`;
    expect((await reply).text).toBe(`198.51.100.77:40001\n${expected}`);
  });

  test('a LOCAL header (the balancer checking health) is served as the balancer itself', async () => {
    const g = await gate();
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    socket.end(Buffer.concat([v2({ command: 0, family: 0, transport: 0 }), Buffer.from('ping')]));
    expect((await reply).text).toBe(`${BALANCER}:${socket.port}\nping`);
    expect(g.accepted[0].header).toEqual({ version: 2, command: 'local' });
  });

  test('an IPv6 balancer on ::1 passes an IPv6 client through', async () => {
    const g = await gate('echo', {}, '::1');
    const socket = await connect(g.port, '::1', '::1');
    const reply = readAll(socket);
    const groups = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42];
    socket.end(Buffer.concat([v2({ family: 2, addresses: inet6(groups, [0, 0, 0, 0, 0, 0, 0, 1], 3333, g.port) }), Buffer.from('x')]));
    expect((await reply).text).toBe('2001:db8::42:3333\nx');
  });

  test('a direct connection is refused even with a well-formed header; the lines are throttled', async () => {
    const g = await gate();
    for (let i = 0; i < 3; i += 1) {
      const socket = await connect(g.port, '127.0.0.1');
      const reply = readAll(socket);
      // A client forging the balancer's header for itself: the header is never read.
      socket.write(v2Inet4(BALANCER, 1234, '127.0.0.1', g.port));
      expect((await reply).text).toBe('');
    }
    expect(g.accepted).toHaveLength(0);
    expect(g.refused.map(([reason]) => reason)).toEqual(['untrusted', 'untrusted', 'untrusted']);
    expect(g.log.lines).toHaveLength(1);
    expect(g.log.lines[0]).toMatchObject({
      level: 'WARNING',
      message: expect.stringMatching(/^Refused connection from 127\.0\.0\.1:\d+: not a trusted proxy \(--proxy-protocol accepts only --trusted-proxies\)$/),
    });
    g.clock.advance(10_000);
    const socket = await connect(g.port, '127.0.0.1');
    await readAll(socket.end());
    expect(g.log.lines).toHaveLength(2);
    expect(g.log.lines[1].message).toMatch(/\(2 similar lines suppressed\)$/);
  });

  test('a trusted peer sending garbage is closed and nothing of it reaches the server', async () => {
    const g = await gate();
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await reply).text).toBe('');
    expect(g.accepted).toHaveLength(0);
    expect(g.refused).toEqual([['invalid_header', `${BALANCER}:${socket.port}`]]);
    expect(g.log.lines.map((l) => l.message)).toEqual([
      `Closing connection from proxy ${BALANCER}:${socket.port}: invalid PROXY header (not a PROXY protocol header)`,
    ]);
  });

  test('a v1 line with no CRLF in 107 bytes is closed without waiting for more', async () => {
    const g = await gate();
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    socket.write(`PROXY TCP4 ${'1'.repeat(200)}`);
    expect((await reply).text).toBe('');
    expect(g.log.lines[0].message).toMatch(/invalid PROXY header \(v1 line has no CRLF within 107 bytes\)$/);
  });

  test('a header that does not finish in time is cut when the clock says so, not before', async () => {
    const g = await gate('echo', { headerTimeoutMs: 5_000 });
    const armed = g.nextRawConnection();
    const socket = await connect(g.port, BALANCER);
    const reply = readAll(socket);
    await armed;
    socket.write(v2Inet4('203.0.113.9', 1).subarray(0, 20));
    // Give the server a moment to read the partial header; the socket must stay open.
    await new Promise((resolve) => setTimeout(resolve, 50));
    g.clock.advance(4_999);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(socket.destroyed).toBe(false);
    expect(g.refused).toEqual([]);
    g.clock.advance(1);
    expect((await reply).text).toBe('');
    expect(g.refused.map(([reason]) => reason)).toEqual(['header_timeout']);
    expect(g.log.lines[0].message).toMatch(/: no complete PROXY header within 5 s$/);
  });

  test('a balancer hanging up mid-header is logged; one hanging up before any byte (a TCP check) is not', async () => {
    const g = await gate();
    const silent = await connect(g.port, BALANCER);
    await readAll(silent.end());
    const partial = await connect(g.port, BALANCER);
    const reply = readAll(partial);
    partial.end(v1('192.0.2.1', '192.0.2.2', 1, 2).subarray(0, 10));
    await reply;
    // The server sees the close a moment after the client does.
    for (let i = 0; i < 100 && g.refused.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(g.refused.map(([reason]) => reason)).toEqual(['closed_in_header']);
    expect(g.log.lines.map((l) => l.message)).toEqual([
      `Connection from proxy ${BALANCER}:${partial.port} closed in the middle of its PROXY header`,
    ]);
  });

  test('TLS after the header: the ClientHello that came with it is fed to the handshake', async () => {
    const pair = await createSelfSigned({ hosts: ['localhost'] });
    const tlsServer = tls.createServer({ cert: pair.cert, key: pair.key }, (secure) => {
      secure.on('data', (d: Buffer) => secure.write(d));
      secure.on('end', () => secure.end());
    });
    const remotes: string[] = [];
    const carried: number[] = [];
    const acceptor = createProxyAcceptor(
      { trusted: TrustedProxies.parse(BALANCER), clock: new FakeClock(), log: new MemoryLog(), throttle: new LogThrottle(new FakeClock()) },
      ({ socket, remote }) => {
        remotes.push(`${remote.address}:${remote.port}`);
        carried.push(socket.readableLength);
        tlsServer.emit('connection', socket);
      },
    );
    const server = net.createServer(acceptor);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const raw = await connect(port, BALANCER);
      const header = v2Inet4('192.0.2.55', 50505, '127.0.0.1', port);
      // Put the header in front of the client's first TLS record so both travel in one write.
      let first = true;
      const carrier = new Duplex({
        write(chunk: Buffer, _encoding, callback) {
          raw.write(first ? Buffer.concat([header, chunk]) : chunk);
          first = false;
          callback();
        },
        final(callback) {
          raw.end();
          callback();
        },
        read() {},
      });
      raw.on('data', (d: Buffer) => carrier.push(d));
      raw.on('end', () => carrier.push(null));
      const secure = tls.connect({ socket: carrier, servername: 'localhost', ca: pair.cert });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      expect(secure.authorized).toBe(true);
      const reply = readAll(secure);
      secure.end('over TLS');
      expect((await reply).text).toBe('over TLS');
      expect(remotes).toEqual(['192.0.2.55:50505']);
      // The start of the ClientHello was read with the header and put back.
      expect(carried[0]).toBeGreaterThan(0);
      raw.destroy();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

test('a handler that throws costs that connection only, with an ERROR line', async () => {
  const log = new MemoryLog();
  const clock = new FakeClock();
  const acceptor = createProxyAcceptor({ trusted: TrustedProxies.parse(BALANCER), clock, log, throttle: new LogThrottle(clock) }, () => {
    throw new Error('bug in the session');
  });
  const server = net.createServer(acceptor);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = await connect((server.address() as net.AddressInfo).port, BALANCER);
    const reply = readAll(socket);
    socket.write(v2Inet4('192.0.2.1', 4242));
    expect((await reply).text).toBe('');
    expect(log.lines).toEqual([
      { level: 'ERROR', label: 'main', message: `Handing on the connection from 192.0.2.1:4242 (via proxy ${BALANCER}:${socket.port}) failed (bug in the session)` },
    ]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('--trusted-proxies parsing', () => {
  test('addresses and CIDR blocks of both families, IPv4 also as mapped IPv6', () => {
    const trusted = TrustedProxies.parse(' 10.0.0.0/8 , 192.0.2.7, fd00::/8, ::1 ');
    expect(trusted.entries).toEqual(['10.0.0.0/8', '192.0.2.7/32', 'fd00::/8', '::1/128']);
    for (const yes of ['10.1.2.3', '::ffff:10.255.0.1', '192.0.2.7', 'fd12:3456::1', '::1']) expect([yes, trusted.includes(yes)]).toEqual([yes, true]);
    for (const no of ['11.0.0.1', '192.0.2.8', '::ffff:192.0.2.8', 'fe80::1', '::2', 'junk', undefined]) expect([no, trusted.includes(no)]).toEqual([no, false]);
  });

  test.each([
    ['', /is empty/],
    [' , ', /is empty/],
    ['10.0.0.0/33', /'10\.0\.0\.0\/33' has a prefix length outside 0-32/],
    ['::/129', /outside 0-128/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.256', /'10\.0\.0\.256' is not an IP address or CIDR block/],
    ['010.0.0.1', /not an IP address/],
    ['fe80::1%eth0', /not an IP address/],
    ['example.com', /not an IP address/],
  ])('%j is refused with a clear message', (list, message) => {
    expect(() => TrustedProxies.parse(list)).toThrow(message);
  });
});
