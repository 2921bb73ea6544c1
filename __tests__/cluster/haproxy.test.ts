/**
 * A real HAProxy (TCP mode, PROXY headers) in front of two tiny echo servers
 * that use the PROXY gate. HAProxy connects from 127.0.0.2, the only trusted
 * address; test clients connect from 127.0.0.1.
 */
import net from 'node:net';
import path from 'node:path';
import { TrustedProxies } from '../../src/cluster/addresses';
import { createProxyAcceptor, type ProxiedConnection } from '../../src/cluster/proxy-listener';
import { MemoryLog } from '../../src/logging/log';
import { LogThrottle } from '../../src/logging/throttle';
import { systemClock } from '../../src/util/clock';
import { Haproxy, checkConfig } from '../helpers/haproxy';
import { requireTool } from '../helpers/redis-server';

const BALANCER = '127.0.0.2';

interface EchoNode {
  name: string;
  port: number;
  log: MemoryLog;
  accepted: ProxiedConnection[];
  server: net.Server;
}

/** Answers `NAME ADDRESS:PORT VERSION\n`, then echoes. */
async function echoNode(name: string): Promise<EchoNode> {
  const log = new MemoryLog();
  const accepted: ProxiedConnection[] = [];
  const acceptor = createProxyAcceptor(
    { trusted: TrustedProxies.parse(BALANCER), clock: systemClock, log, throttle: new LogThrottle(systemClock) },
    (connection) => {
      accepted.push(connection);
      const { socket, remote, header } = connection;
      socket.write(`${name} ${remote.address}:${remote.port} v${header.version}\n`);
      socket.pipe(socket);
    },
  );
  const server = net.createServer(acceptor);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, port: (server.address() as net.AddressInfo).port, log, accepted, server };
}

/** Connect from 127.0.0.1, send `payload` and read until the server closes (or `lines` lines arrived). */
async function talk(port: number, payload: string): Promise<{ localPort: number; reply: string }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const localPort = socket.localPort!;
  const reply = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      // The greeting line plus the echoed payload: done.
      if (text.includes('\n') && text.endsWith(payload)) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.write(payload);
  });
  return { localPort, reply };
}

describe('HAProxy with PROXY headers in front of two nodes', () => {
  let nodes: EchoNode[];
  let haproxy: Haproxy;

  beforeAll(async () => {
    nodes = [await echoNode('n1'), await echoNode('n2')];
    haproxy = await Haproxy.start({
      source: BALANCER,
      backends: [
        { name: 'n1', port: nodes[0].port, proxyVersion: 2 },
        { name: 'n2', port: nodes[1].port, proxyVersion: 1 },
      ],
    });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all((nodes ?? []).map((n) => new Promise<void>((resolve) => n.server.close(() => resolve()))));
  });

  test('each node sees the client at 127.0.0.1 with its own port, not HAProxy\'s; bytes pass intact', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const payload = `payload ${i} ${'x'.repeat(1000 * i)}`;
      const { localPort, reply } = await talk(haproxy.port, payload);
      const [greeting, ...rest] = reply.split('\n');
      const match = /^(n[12]) 127\.0\.0\.1:(\d+) v([12])$/.exec(greeting);
      expect([greeting, match !== null]).toEqual([greeting, true]);
      expect(Number(match![2])).toBe(localPort);
      expect(rest.join('\n')).toBe(payload);
      seen.push(`${match![1]} v${match![3]}`);
    }
    // Round robin reaches both nodes, each with the header version it was configured for.
    expect([...new Set(seen)].sort()).toEqual(['n1 v2', 'n2 v1']);
    for (const node of nodes) {
      for (const { proxy } of node.accepted) expect(proxy.address.replace(/^::ffff:/, '')).toBe(BALANCER);
      expect(node.log.lines).toEqual([]);
    }
  });

  test('a client going around HAProxy straight to a node is refused', async () => {
    const before = nodes[0].accepted.length;
    const { reply } = await talk(nodes[0].port, 'PROXY TCP4 198.51.100.1 127.0.0.1 1111 5002\r\nhello');
    expect(reply).toBe('');
    expect(nodes[0].accepted.length).toBe(before);
    expect(nodes[0].log.lines.map((l) => l.message)).toEqual([
      expect.stringMatching(/^Refused connection from 127\.0\.0\.1:\d+: not a trusted proxy/),
    ]);
  });
});

test('deploy/haproxy.cfg is a valid HAProxy configuration', () => {
  const { status, output } = checkConfig(path.join(__dirname, '..', '..', 'deploy', 'haproxy.cfg'));
  expect([status, output.trim()]).toEqual([0, 'Configuration file is valid']);
});

test('a test needing a missing tool fails with the package to install, never passes silently', () => {
  expect(() => requireTool('no-such-daemon-here', 'no-such-package')).toThrow(
    'no-such-daemon-here is not installed; this test needs it: apt-get install -y no-such-package (.ci/run installs it)',
  );
  expect(requireTool('haproxy', 'haproxy')).toMatch(/\/haproxy$/);
});
