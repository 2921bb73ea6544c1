/**
 * Ports for passive data connections (PASV/EPSV): any free port, or one of
 * the `--pasv-ports MIN-MAX` range that a firewall or an EC2 security group
 * opens. One pool per FTP listener, shared by its sessions: a port is held
 * from the PASV until its one data connection is accepted (or the session
 * gives it up), then it is free again.
 */
import net from 'node:net';
import type { PortRange } from './data-address';

/** Every port of the range is held (by us or by another program): answered 425, and it clears as ports free up. */
export class PassivePortsExhausted extends Error {
  constructor(range: PortRange) {
    super(`No passive port free in ${range.min}-${range.max}; try again later`);
    this.name = 'PassivePortsExhausted';
  }
}

/** A passive listener and the port it holds. */
export interface PassiveListener {
  readonly server: net.Server;
  readonly port: number;
  /** Stop listening and give the port back. Idempotent. */
  release(): void;
}

/** See the module comment. */
export class PassivePorts {
  /** Range ports we hold now. */
  private readonly held = new Set<number>();
  /** Where the next search starts, so ports are used round the range rather than the lowest again and again. */
  private cursor = 0;

  constructor(readonly range?: PortRange) {}

  /** Ports of the range held now (0 without a range). */
  get inUse(): number {
    return this.held.size;
  }

  /**
   * Listen on `host` on a free passive port. Without a range the system
   * picks one. With a range, each port not held by this pool is tried in
   * turn; one another program holds is skipped.
   * @throws PassivePortsExhausted when every port of the range is taken.
   */
  async listen(host: string): Promise<PassiveListener> {
    const { range } = this;
    if (!range) {
      const server = await listenOn(host, 0);
      return { server, port: (server.address() as net.AddressInfo).port, release: () => server.close() };
    }
    const size = range.max - range.min + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = range.min + ((this.cursor + tried) % size);
      if (this.held.has(port)) continue;
      // Held before the await, so two sessions never race for one port.
      this.held.add(port);
      try {
        const server = await listenOn(host, port);
        this.cursor = (port - range.min + 1) % size;
        let released = false;
        return {
          server,
          port,
          release: () => {
            if (released) return;
            released = true;
            server.close();
            this.held.delete(port);
          },
        };
      } catch (err) {
        this.held.delete(port);
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw new PassivePortsExhausted(range);
  }
}

function listenOn(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // Paused: a data connection is not read until a transfer command wants it.
    const server = net.createServer({ pauseOnConnect: true, noDelay: true });
    server.once('error', reject);
    // A small backlog: one connection is expected, a flood of others is closed unread anyway.
    server.listen({ host, port, backlog: 16, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
