import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConnectionResult, Protocol, TransferRecord } from '../core/observer';
import type { ServerObserver, TransferStart } from '../core/observer';

/**
 * The `protocol` label: `ftp` on the FTP port's series, absent on the
 * native port's. The native series predate the FTP port; leaving them
 * unlabelled keeps every existing query and dashboard reading the same
 * numbers, while `{protocol="ftp"}` selects the FTP port and a plain
 * `sum()` still counts both. (In PromQL an absent label matches
 * `protocol=""`.)
 */
function protocolLabel(protocol: Protocol | undefined): { protocol?: string } {
  return protocol === 'ftp' ? { protocol } : {};
}

/**
 * Metric names. Dashboards and scripts rely on them: never rename one,
 * add a new metric instead.
 */
export const METRIC_NAMES = Object.freeze({
  activeSessions: 'ftp_server_active_sessions',
  connections: 'ftp_server_connections_total',
  commands: 'ftp_server_commands_total',
  bytesSent: 'ftp_server_bytes_sent_total',
  bytesReceived: 'ftp_server_bytes_received_total',
  transferDuration: 'ftp_server_transfer_duration_seconds',
  transfers: 'ftp_server_transfers_total',
  transfersInFlight: 'ftp_server_transfers_in_flight',
  redisUp: 'ftp_server_redis_up',
  redisFailures: 'ftp_server_redis_failures_total',
});

/** Every value `ftp_server_connections_total{result}` can take, exported at 0 from the start. */
export const CONNECTION_RESULTS: readonly ConnectionResult[] = [
  'accepted',
  'max_connections',
  'max_connections_per_ip',
  'rate_limited',
  'banned',
  'draining',
];

/**
 * Transfer-time buckets, seconds: from a small file on a LAN (5 ms) to a
 * large one over a slow link (an hour).
 */
export const TRANSFER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The plain-number totals behind `/status` (the registry itself is async to read). */
export interface MetricsTotals {
  activeSessions: number;
  transfersInFlight: number;
  connectionsAccepted: number;
  connectionsRefused: Partial<Record<ConnectionResult, number>>;
  commands: number;
  downloads: { ok: number; failed: number };
  uploads: { ok: number; failed: number };
  bytesSent: number;
  bytesReceived: number;
}

/** Options of {@link MetricsObserver}. */
export interface MetricsOptions {
  /** Add prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

/**
 * The server's Prometheus metrics, fed through the observer hooks. Each
 * instance owns its registry (never prom-client's global one), so tests
 * and embedders may create as many as they like.
 */
export class MetricsObserver implements ServerObserver {
  readonly registry = new Registry();
  private readonly sessions: Gauge;
  private readonly inFlight: Gauge;
  private readonly connections: Counter<'result' | 'protocol'>;
  private readonly commands: Counter<'command' | 'code' | 'protocol'>;
  private readonly bytesSent: Counter<'protocol'>;
  private readonly bytesReceived: Counter<'protocol'>;
  private readonly transfers: Counter<'direction' | 'result' | 'protocol'>;
  private readonly duration: Histogram<'direction' | 'protocol'>;
  private readonly totals: MetricsTotals = {
    activeSessions: 0,
    transfersInFlight: 0,
    connectionsAccepted: 0,
    connectionsRefused: {},
    commands: 0,
    downloads: { ok: 0, failed: 0 },
    uploads: { ok: 0, failed: 0 },
    bytesSent: 0,
    bytesReceived: 0,
  };

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.sessions = new Gauge({ name: METRIC_NAMES.activeSessions, help: 'Client sessions open now', registers });
    this.inFlight = new Gauge({
      name: METRIC_NAMES.transfersInFlight,
      help: 'GET and PUT transfers under way now',
      registers,
    });
    this.connections = new Counter({
      name: METRIC_NAMES.connections,
      help: 'Connections accepted, or refused by reason (protocol="ftp": the FTP port; no protocol label: the native port)',
      labelNames: ['result', 'protocol'],
      registers,
    });
    for (const result of CONNECTION_RESULTS) this.connections.inc({ result }, 0);
    this.commands = new Counter({
      name: METRIC_NAMES.commands,
      help: 'Commands answered, by command and response code (INVALID: not a known command; protocol="ftp": FTP reply codes)',
      labelNames: ['command', 'code', 'protocol'],
      registers,
    });
    this.bytesSent = new Counter({ name: METRIC_NAMES.bytesSent, help: 'File payload bytes sent (GET, RETR)', labelNames: ['protocol'], registers });
    this.bytesReceived = new Counter({
      name: METRIC_NAMES.bytesReceived,
      help: 'File payload bytes received (PUT, STOR/APPE/STOU), including uploads later refused',
      labelNames: ['protocol'],
      registers,
    });
    // The native series exist from the start, as they did before the label.
    this.bytesSent.inc({}, 0);
    this.bytesReceived.inc({}, 0);
    this.transfers = new Counter({
      name: METRIC_NAMES.transfers,
      help: 'Transfers finished, by direction and result (ok or failed)',
      labelNames: ['direction', 'result', 'protocol'],
      registers,
    });
    for (const direction of ['download', 'upload']) {
      for (const result of ['ok', 'failed']) this.transfers.inc({ direction, result }, 0);
    }
    this.duration = new Histogram({
      name: METRIC_NAMES.transferDuration,
      help: 'Time from the first to the last payload byte of a transfer, failed ones included',
      labelNames: ['direction', 'protocol'],
      buckets: TRANSFER_BUCKETS,
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Export the health of a cluster's shared limits (`--redis-url`): a gauge
   * that is 1 while Redis answers, and the count of failed Redis calls and
   * connection attempts. Both are read from `source` at each scrape.
   */
  watchSharedLimits(source: { readonly healthy: boolean; readonly failures: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: METRIC_NAMES.redisUp,
      help: '1 while the shared limits in Redis answer, 0 while this node decides on its own limits',
      registers,
      collect() {
        this.set(source.healthy ? 1 : 0);
      },
    });
    new Counter({
      name: METRIC_NAMES.redisFailures,
      help: 'Failed Redis calls and connection attempts since start',
      registers,
      collect() {
        // The count is kept by the limits themselves; mirror it.
        this.reset();
        this.inc(source.failures);
      },
    });
  }

  /** A copy of the running totals. */
  snapshot(): MetricsTotals {
    return structuredClone(this.totals);
  }

  /** The registry in Prometheus text format. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type that goes with {@link metricsText}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  connection(result: ConnectionResult, protocol?: Protocol): void {
    this.connections.inc({ result, ...protocolLabel(protocol) });
    if (result === 'accepted') {
      this.totals.connectionsAccepted += 1;
      this.totals.activeSessions += 1;
      this.sessions.set(this.totals.activeSessions);
    } else {
      this.totals.connectionsRefused[result] = (this.totals.connectionsRefused[result] ?? 0) + 1;
    }
  }

  sessionClosed(): void {
    // The server reports a close only for sessions it accepted.
    this.totals.activeSessions = Math.max(0, this.totals.activeSessions - 1);
    this.sessions.set(this.totals.activeSessions);
  }

  command(name: string, code: number, _durationMs: number, protocol?: Protocol): void {
    this.commands.inc({ command: name, code: String(code), ...protocolLabel(protocol) });
    this.totals.commands += 1;
  }

  transferStarted(_start: TransferStart): void {
    this.setInFlight(this.totals.transfersInFlight + 1);
  }

  transfer(record: TransferRecord): void {
    const result = record.ok ? 'ok' : 'failed';
    const seconds = record.durationMs / 1000;
    const label = protocolLabel(record.protocol);
    if (record.direction === 'download') {
      this.bytesSent.inc(label, record.bytes);
      this.totals.bytesSent += record.bytes;
      this.totals.downloads[result] += 1;
    } else {
      this.bytesReceived.inc(label, record.bytes);
      this.totals.bytesReceived += record.bytes;
      this.totals.uploads[result] += 1;
    }
    this.transfers.inc({ direction: record.direction, result, ...label });
    this.duration.observe({ direction: record.direction, ...label }, seconds);
    this.setInFlight(Math.max(0, this.totals.transfersInFlight - 1));
  }

  private setInFlight(count: number): void {
    this.totals.transfersInFlight = count;
    this.inFlight.set(count);
  }
}
