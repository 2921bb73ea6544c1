import type net from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials } from '../auth/tls-files';

export type { TlsCredentials } from '../auth/tls-files';
import type { Log } from '../logging/log';
import { suppressedNote, type LogThrottle } from '../logging/throttle';
import type { Clock, Timer } from '../util/clock';

/**
 * TLS 1.2 suites allowed: forward-secret ECDHE with AEAD ciphers only. The
 * TLS 1.3 suites (all modern) are listed too, since Node takes both from one
 * string.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');


/** How long a refused connection gets to finish its handshake and take its encrypted refusal. */
export const TLS_REFUSAL_TIMEOUT_MS = 2_000;
/** Refused connections given that chance at once: in all, and per address. The rest are closed at once. */
export const MAX_TLS_REFUSALS = 16;
export const MAX_TLS_REFUSALS_PER_ADDRESS = 2;

/** Who is at the other end: the admission key, and `IP:PORT` for log lines. */
export interface TlsPeer {
  key: string;
  peer: string;
}

export interface TlsAcceptorOptions {
  /** An admitted connection must finish its handshake within this long. */
  handshakeTimeoutMs: number;
  clock: Clock;
  log: Log;
  throttle: LogThrottle;
  refusalTimeoutMs?: number;
  maxRefusals?: number;
  maxRefusalsPerAddress?: number;
  /**
   * The context to handshake with, instead of one made from the
   * credentials: a listener whose other connections must resume sessions
   * issued here (FTP's data connections) passes its own.
   */
  secureContext?: tls.SecureContext;
}

/** A handshake under way. */
export interface PendingHandshake {
  readonly socket: tls.TLSSocket;
  /** End it now, without a log line (the server is stopping). */
  cancel(): void;
}

/**
 * TLS for a port whose listener is a plain TCP server. The server admits
 * each raw connection first (bans, rate, connection caps) and only then
 * hands it here, so a client that opens sockets and never starts TLS holds
 * a place like any other, and only until the handshake timeout.
 *
 * Every byte of the protocol is encrypted, refusal greetings included: a
 * refused connection gets a short window to finish its handshake and take
 * its `429`/`503` (a TLS client cannot read a cleartext one). Those windows
 * are few at once, so refused sockets cannot pile up descriptors; past them
 * a refused connection is closed at once, and the caller logs it.
 */
export class TlsAcceptor {
  private readonly context: tls.SecureContext;
  private readonly refusalTimeoutMs: number;
  private readonly maxRefusals: number;
  private readonly maxRefusalsPerAddress: number;
  private readonly refusing = new Set<tls.TLSSocket>();
  private readonly refusingPerKey = new Map<string, number>();

  constructor(
    credentials: TlsCredentials,
    private readonly options: TlsAcceptorOptions,
  ) {
    this.context = options.secureContext ?? tls.createSecureContext({
      cert: credentials.cert,
      key: credentials.key,
      ...(credentials.passphrase ? { passphrase: credentials.passphrase } : {}),
      minVersion: 'TLSv1.2',
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
    });
    this.refusalTimeoutMs = options.refusalTimeoutMs ?? TLS_REFUSAL_TIMEOUT_MS;
    this.maxRefusals = options.maxRefusals ?? MAX_TLS_REFUSALS;
    this.maxRefusalsPerAddress = options.maxRefusalsPerAddress ?? MAX_TLS_REFUSALS_PER_ADDRESS;
  }

  /**
   * Run the server side of the handshake on an admitted connection.
   * `onSecure` gets the encrypted socket once it is done; `onFailed` runs
   * after a failure or a timeout (logged here, throttled per address) or a
   * cancel, when the socket is already destroyed. Exactly one of them runs.
   */
  handshake(raw: net.Socket, from: TlsPeer, onSecure: (socket: tls.TLSSocket) => void, onFailed: () => void): PendingHandshake {
    raw.on('error', ignore);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.context });
    let settled = false;
    const settle = (failure: string | undefined, quiet = false): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.off('secure', onDone);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (failure === undefined) return onSecure(socket);
      if (!quiet) this.logFailure(from, failure);
      socket.on('error', ignore);
      socket.destroy();
      onFailed();
    };
    const onDone = (): void => settle(undefined);
    const onError = (err: NodeJS.ErrnoException): void => settle(describe(err));
    const onClose = (): void => settle(describe(undefined));
    const timer: Timer = this.options.clock.setTimer(this.options.handshakeTimeoutMs, () =>
      settle(`not finished within ${this.options.handshakeTimeoutMs / 1000} s`),
    );
    socket.once('secure', onDone);
    socket.on('error', onError);
    socket.once('close', onClose);
    return { socket, cancel: () => settle('cancelled', true) };
  }

  /**
   * Answer a refused connection with `greeting`, encrypted: the client gets
   * {@link TLS_REFUSAL_TIMEOUT_MS} to finish its handshake and read it.
   * Returns false when too many refusals are under way (for all, or for
   * this address): the connection was then closed at once, without a word.
   */
  refuse(raw: net.Socket, from: TlsPeer, greeting: Buffer): boolean {
    raw.on('error', ignore);
    const mine = this.refusingPerKey.get(from.key) ?? 0;
    if (this.refusing.size >= this.maxRefusals || mine >= this.maxRefusalsPerAddress) {
      raw.destroy();
      return false;
    }
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.context });
    this.refusing.add(socket);
    this.refusingPerKey.set(from.key, mine + 1);
    socket.on('error', ignore);
    const cut = this.options.clock.setTimer(this.refusalTimeoutMs, () => socket.destroy());
    socket.once('secure', () => socket.end(greeting, () => socket.destroy()));
    socket.once('close', () => {
      cut.cancel();
      this.refusing.delete(socket);
      const left = (this.refusingPerKey.get(from.key) ?? 1) - 1;
      if (left > 0) this.refusingPerKey.set(from.key, left);
      else this.refusingPerKey.delete(from.key);
    });
    return true;
  }

  /** Refusals still waiting for their client (for tests). */
  get refusalsInFlight(): number {
    return this.refusing.size;
  }

  /** Cut every refusal still under way (the server is stopping). */
  close(): void {
    for (const socket of this.refusing) socket.destroy();
  }

  private logFailure(from: TlsPeer, why: string): void {
    // Scanners, plain-TCP clients and clients that distrust our certificate
    // all end here: worth a line, not a flood.
    const suppressed = this.options.throttle.admit(`tls ${from.key}`);
    if (suppressed !== undefined) this.options.log.warn(`TLS handshake failed from ${from.peer}: ${why}${suppressedNote(suppressed)}`);
  }
}

function describe(err: NodeJS.ErrnoException | undefined): string {
  if (!err || err.code === 'ECONNRESET') return 'the client hung up (does it trust our certificate?)';
  return err.code ?? err.message;
}

function ignore(): void {}
