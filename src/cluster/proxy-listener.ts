/**
 * The front door of a listener behind a load balancer (`--proxy-protocol`):
 * every accepted socket must come from a `--trusted-proxies` address and
 * start with a PROXY header; the socket is then handed on with the client's
 * real address and with the bytes that followed the header put back, unread.
 *
 * Everything else is closed without a reply: a direct connection (anyone who
 * can reach the port could otherwise claim any source address in a header of
 * their own, and with it dodge bans and per-IP limits), a trusted peer that
 * sends garbage, and one that does not finish its header in time.
 */
import type net from 'node:net';
import type { Log } from '../logging/log';
import { suppressedNote, type LogThrottle } from '../logging/throttle';
import type { Clock } from '../util/clock';
import type { IpFamily, TrustedProxies } from './addresses';
import { ProxyHeaderDecoder, type ProxyHeader } from './proxy-protocol';

/** The whole header must arrive within this long of the connection. HAProxy sends it in one packet. */
export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 10_000;

/** An address and port as Node reports them on a socket. */
export interface PeerAddress {
  address: string;
  port: number;
  family: IpFamily;
}

/** A connection that passed the gate. */
export interface ProxiedConnection {
  /** The accepted socket; its first unread bytes are the client's first bytes. */
  socket: net.Socket;
  /**
   * The real client: the header's source, or the socket's own peer for a
   * `local` (health check) or `unknown` header. Use it wherever
   * `socket.remoteAddress` was used: limits, bans, logs.
   */
  remote: PeerAddress;
  /** The load balancer that connected (the socket's own peer). */
  proxy: PeerAddress;
  header: ProxyHeader;
}

/** Why a connection was closed before reaching the server. */
export type ProxyRefusal = 'untrusted' | 'invalid_header' | 'header_timeout' | 'closed_in_header';

export interface ProxyAcceptorOptions {
  trusted: TrustedProxies;
  clock: Clock;
  log: Log;
  /** Shared with the server's other noisy lines: one line per peer IP and kind per interval. */
  throttle: LogThrottle;
  headerTimeoutMs?: number;
  /** Bound on a v2 header (see proxy-protocol.ts). */
  maxHeaderBytes?: number;
  /** Called for every refused connection (metrics). Must not throw. */
  onRefused?(reason: ProxyRefusal, peer: string): void;
}

/**
 * A `'connection'` listener for a `net.Server` that reads the PROXY header,
 * then calls `onConnection` with the socket. The caller attaches its own
 * readers inside `onConnection` (synchronously), exactly as it would on a
 * fresh socket. For TLS, pass the socket on with `tlsServer.emit('connection',
 * socket)`: Node's TLS layer feeds bytes already buffered on the socket into
 * the handshake.
 */
export function createProxyAcceptor(
  options: ProxyAcceptorOptions,
  onConnection: (connection: ProxiedConnection) => void,
): (socket: net.Socket) => void {
  const timeoutMs = options.headerTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS;
  const refuse = (socket: net.Socket, peer: string, reason: ProxyRefusal, detail: string) => {
    socket.destroy();
    options.onRefused?.(reason, peer);
    // One line per kind and peer IP per interval: a scanner or a misconfigured
    // balancer must not turn the log into the flood.
    const suppressed = options.throttle.admit(`proxy ${reason} ${peer.replace(/:\d+$/, '')}`);
    if (suppressed !== undefined) options.log.warn(`${detail}${suppressedNote(suppressed)}`);
  };

  return (socket: net.Socket) => {
    const proxy = peerOf(socket);
    if (!proxy) {
      socket.destroy(); // already reset: nothing to serve, nothing to log
      return;
    }
    const peer = label(proxy);
    if (!options.trusted.includes(proxy.address)) {
      refuse(socket, peer, 'untrusted', `Refused connection from ${peer}: not a trusted proxy (--proxy-protocol accepts only --trusted-proxies)`);
      return;
    }

    const decoder = new ProxyHeaderDecoder({ maxHeaderBytes: options.maxHeaderBytes });
    let settled = false;
    const settle = () => {
      settled = true;
      timer.cancel();
      socket.removeListener('readable', onReadable);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      // Stop at the header's end: whatever came with it is the client's and goes back unread.
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        const step = decoder.push(chunk);
        if (step.state === 'need_more') continue;
        settle();
        if (step.state === 'error') {
          refuse(socket, peer, 'invalid_header', `Closing connection from proxy ${peer}: invalid PROXY header (${step.reason})`);
          return;
        }
        if (step.rest.length > 0) socket.unshift(step.rest);
        const remote = step.header.command === 'proxy' ? step.header.source : proxy;
        try {
          onConnection({ socket, remote, proxy, header: step.header });
        } catch (err) {
          // A bug downstream must cost one connection, not the process.
          options.log.error(`Handing on the connection from ${label(remote)} (via proxy ${peer}) failed`, err);
          socket.destroy();
        }
      }
    };
    const onClose = () => {
      if (settled) return;
      const held = decoder.bufferedBytes;
      settle();
      // A proxy's plain TCP check connects and leaves without a byte: not worth a line.
      if (held > 0) refuse(socket, peer, 'closed_in_header', `Connection from proxy ${peer} closed in the middle of its PROXY header`);
    };
    // The socket closes right after an error; 'close' does the rest.
    const onError = () => {};
    const timer = options.clock.setTimer(timeoutMs, () => {
      if (settled) return;
      settle();
      refuse(socket, peer, 'header_timeout', `Closing connection from proxy ${peer}: no complete PROXY header within ${timeoutMs / 1000} s`);
    });
    socket.on('readable', onReadable);
    socket.on('close', onClose);
    socket.on('error', onError);
  };
}

function peerOf(socket: net.Socket): PeerAddress | undefined {
  const { remoteAddress: address, remotePort: port, remoteFamily: family } = socket;
  if (address === undefined || port === undefined) return undefined;
  return { address, port, family: family === 'IPv6' ? 'IPv6' : 'IPv4' };
}

/** `IP:PORT` as the server's log lines write it (`::ffff:` stripped). */
function label(peer: PeerAddress): string {
  return `${peer.address.replace(/^::ffff:/, '')}:${peer.port}`;
}
