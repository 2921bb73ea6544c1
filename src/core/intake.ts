/**
 * The first step of every accepted connection, shared by the listeners: find
 * out who the client is before the door (admission) decides about it.
 *
 * Directly on the network the client is the socket's own peer. Behind a load
 * balancer (`--proxy-protocol`) every socket comes from the balancer, so the
 * client is read from the PROXY header it sends first (src/cluster/
 * proxy-listener.ts), from `--trusted-proxies` only. Bans, per-address limits
 * and log labels then see the real client, and a balancer's address never
 * stands for all of its clients at once.
 *
 * A listener makes one intake and hands it each socket its `net.Server`
 * accepts; `ready` runs once per socket that passed, with nothing of the
 * client's read yet (TLS handshakes start after it). FTP's control and
 * passive data ports use it the same way as the native port.
 */
import type net from 'node:net';
import type { TrustedProxies } from '../cluster/addresses';
import { createProxyAcceptor, type ProxyRefusal } from '../cluster/proxy-listener';
import type { Log } from '../logging/log';
import type { LogThrottle } from '../logging/throttle';
import type { Clock } from '../util/clock';

/** The client of a connection as a PROXY header named it. */
export interface Peer {
  /** The client's IP in `socket.remoteAddress` form (`198.51.100.7`, `2001:db8::1`). */
  readonly address: string;
  readonly port: number;
}

/** `--proxy-protocol` settings of a listener. */
export interface ProxySettings {
  /** The load balancers allowed to send a header; everyone else is closed unread. */
  trusted: TrustedProxies;
  /** The whole header must arrive within this long (default 10 s). */
  headerTimeoutMs?: number;
}

export interface IntakeOptions {
  /** Read a PROXY header first; absent: the socket's own peer is the client. */
  proxy?: ProxySettings;
  clock: Clock;
  log: Log;
  /** The listener's throttle: one refusal line per peer and kind per interval. */
  throttle: LogThrottle;
  /** Called for every connection refused here (metrics). Must not throw. */
  onRefused?(reason: ProxyRefusal): void;
}

/**
 * Hands `ready` each accepted socket once its client is known: at once
 * without a proxy (`peer` undefined: the socket's own peer), after the PROXY
 * header with one. `peer` is the header's source; a balancer's own check
 * (v2 LOCAL, v1 UNKNOWN) comes through with the balancer as its peer.
 */
export class Intake {
  private readonly pendingSockets = new Set<net.Socket>();
  private readonly acceptProxied: ((socket: net.Socket) => void) | undefined;
  private closed = false;

  constructor(
    options: IntakeOptions,
    private readonly ready: (socket: net.Socket, peer: Peer | undefined) => void,
  ) {
    if (options.proxy) {
      this.acceptProxied = createProxyAcceptor(
        {
          trusted: options.proxy.trusted,
          clock: options.clock,
          log: options.log,
          throttle: options.throttle,
          ...(options.proxy.headerTimeoutMs !== undefined ? { headerTimeoutMs: options.proxy.headerTimeoutMs } : {}),
          onRefused: (reason) => options.onRefused?.(reason),
        },
        ({ socket, remote }) => {
          this.pendingSockets.delete(socket);
          this.ready(socket, { address: remote.address, port: remote.port });
        },
      );
    }
  }

  /** True when clients are read from PROXY headers. */
  get proxied(): boolean {
    return this.acceptProxied !== undefined;
  }

  /** Sockets still sending their PROXY header. */
  get pending(): number {
    return this.pendingSockets.size;
  }

  /** Take one freshly accepted socket. */
  accept(socket: net.Socket): void {
    if (!this.acceptProxied) {
      this.ready(socket, undefined);
      return;
    }
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.pendingSockets.add(socket);
    socket.once('close', () => this.pendingSockets.delete(socket));
    this.acceptProxied(socket);
  }

  /**
   * The listener is stopping: close the sockets still in their header (a
   * balancer's idle check must not hold the shutdown for the header timeout)
   * and refuse any more.
   */
  close(): void {
    this.closed = true;
    for (const socket of this.pendingSockets) socket.destroy();
    this.pendingSockets.clear();
  }
}
