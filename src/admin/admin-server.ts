import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVER_NAME } from '../config/defaults';
import { silentLog, type Log } from '../logging/log';
import { systemClock, type Clock } from '../util/clock';
import type { MetricsObserver } from './metrics';

/** Loopback unless the operator says otherwise: `/metrics` and `/status` are not for the internet. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';

/** What the admin endpoint reads from the file server. `FileServer` fits as it is. */
export interface AdminTarget {
  /** True once a shutdown has begun. */
  readonly draining: boolean;
  /** Sessions open right now. */
  readonly activeSessions: number;
}

/**
 * The shared store of a cluster's limits (Redis), as the admin endpoint sees
 * it: while it is away the node serves on its own limits, "degraded".
 */
export interface SharedLimitsHealth {
  /** False while the store is unreachable. */
  readonly healthy: boolean;
  /** Failed calls and connection attempts since start. */
  readonly failures: number;
}

/** The `/healthz` body while the shared limits are away (status still 200: see {@link AdminServer}). */
export const DEGRADED_BODY = 'degraded: Redis unreachable; limits and bans are this node\'s own\n';

/** Options of {@link AdminServer.start}. */
export interface AdminServerOptions {
  target: AdminTarget;
  metrics: MetricsObserver;
  /** Default {@link DEFAULT_ADMIN_HOST}. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  log?: Log;
  clock?: Pick<Clock, 'now'>;
  /** With a cluster: `/healthz` says degraded while it is away, `/status` says how it is. */
  sharedLimits?: SharedLimitsHealth;
}

/** The `/status` document. Field names are snake_case, like the protocol's. */
export interface StatusDocument {
  server: string;
  state: 'accepting' | 'draining';
  started_at: string;
  uptime_seconds: number;
  sessions: { active: number };
  transfers: {
    in_flight: number;
    downloads: { ok: number; failed: number };
    uploads: { ok: number; failed: number };
    bytes_sent: number;
    bytes_received: number;
  };
  connections: { accepted: number; refused: Record<string, number> };
  commands: number;
  /** With `--redis-url` only. */
  shared_limits?: { state: 'ok' | 'degraded'; failures: number };
}

/** Headers common to every answer: nothing here may be cached by a proxy. */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The HTTP admin endpoint: `/healthz` (200 while accepting, 503 while
 * draining, for load balancers and systemd-style checks; 200 with a
 * `degraded` body while a cluster's Redis is away), `/metrics`
 * (Prometheus text) and `/status` (JSON for `ftp-server status`).
 * GET and HEAD only; it reads, it never changes the server.
 */
export class AdminServer {
  private readonly startedAt: number;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly http: http.Server,
    private readonly options: AdminServerOptions,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.startedAt = clock.now();
  }

  /** Listen; resolves once the port is open. */
  static async start(options: AdminServerOptions): Promise<AdminServer> {
    const clock = options.clock ?? systemClock;
    const server = http.createServer();
    const admin = new AdminServer(server, options, clock);
    server.on('request', (req, res) => admin.handle(req, res));
    // Scrapers keep connections alive; a short idle timeout lets close() finish.
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host ?? DEFAULT_ADMIN_HOST, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => (options.log ?? silentLog).error('Admin endpoint error', err));
    return admin;
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  get port(): number {
    return this.address.port;
  }

  /** `http://HOST:PORT`, for the start-up log line. */
  get url(): string {
    const { address, port } = this.address;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /** The `/status` document as of now. */
  status(): StatusDocument {
    const totals = this.options.metrics.snapshot();
    const refused: Record<string, number> = {};
    for (const [reason, count] of Object.entries(totals.connectionsRefused)) refused[reason] = count ?? 0;
    const now = this.clock.now();
    return {
      server: SERVER_NAME,
      state: this.options.target.draining ? 'draining' : 'accepting',
      started_at: new Date(this.startedAt).toISOString(),
      uptime_seconds: Math.round((now - this.startedAt) / 1000),
      // The server's own count: it is the one the connection limit uses.
      sessions: { active: this.options.target.activeSessions },
      transfers: {
        in_flight: totals.transfersInFlight,
        downloads: totals.downloads,
        uploads: totals.uploads,
        bytes_sent: totals.bytesSent,
        bytes_received: totals.bytesReceived,
      },
      connections: { accepted: totals.connectionsAccepted, refused },
      commands: totals.commands,
      ...(this.options.sharedLimits
        ? { shared_limits: { state: this.options.sharedLimits.healthy ? 'ok' : 'degraded', failures: this.options.sharedLimits.failures } }
        : {}),
    };
  }

  /** Stop listening and drop idle keep-alive connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeIdleConnections();
    });
    return this.closing;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz': {
        const draining = this.options.target.draining;
        // Degraded stays 200: Redis is shared, so when it goes every node is
        // degraded at once, and a 503 would make the balancer drop them all.
        // The node still serves, on its own limits; the body says so.
        const degraded = this.options.sharedLimits?.healthy === false;
        send(res, draining ? 503 : 200, 'text/plain; charset=utf-8', draining ? 'draining\n' : degraded ? DEGRADED_BODY : 'ok\n');
        return;
      }
      case '/metrics':
        this.options.metrics.metricsText().then(
          (text) => send(res, 200, this.options.metrics.contentType, text),
          (err) => {
            (this.options.log ?? silentLog).error('Collecting metrics failed', err);
            send(res, 500, 'text/plain; charset=utf-8', 'Collecting metrics failed\n');
          },
        );
        return;
      case '/status':
        send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(this.status(), null, 2)}\n`);
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'Not found: try /healthz, /metrics or /status\n');
    }
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...NO_STORE, ...extra, 'content-type': type, 'content-length': bytes.length });
  // HEAD gets the headers alone; Node drops a body written to a HEAD response anyway.
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}
