import type net from 'node:net';
import tls from 'node:tls';
import type { Log } from '../logging/log';
import { suppressedNote, type LogThrottle } from '../logging/throttle';

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

/** PEM certificate (chain) and private key: the port then speaks TLS only. */
export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
  /** For an encrypted key. */
  passphrase?: string;
}

/**
 * A TLS-only listener. Sessions start on 'secureConnection', after the
 * handshake, so every byte of the protocol — refusal greetings included —
 * is encrypted. The handshake must finish within `handshakeTimeoutMs`: a
 * client that opens a socket and says nothing is cut like a slow frame.
 */
export function createTlsListener(
  credentials: TlsCredentials,
  options: { handshakeTimeoutMs: number; log: Log; throttle: LogThrottle },
  onSecureConnection: (socket: tls.TLSSocket) => void,
): tls.Server {
  const server = tls.createServer(
    {
      cert: credentials.cert,
      key: credentials.key,
      ...(credentials.passphrase ? { passphrase: credentials.passphrase } : {}),
      minVersion: 'TLSv1.2',
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
      handshakeTimeout: options.handshakeTimeoutMs,
      noDelay: true,
    },
    onSecureConnection,
  );
  // A reset socket forgets its peer; remember it from the raw connection.
  const peers = new WeakMap<object, string>();
  server.on('connection', (raw: net.Socket) => peers.set(raw, `${stripMapped(raw.remoteAddress)}:${raw.remotePort}`));
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    // Scanners, plain-TCP clients and clients that distrust our certificate
    // all end here: worth a line, not a flood.
    const raw = (socket as unknown as { _parent?: object })._parent;
    const peer = (raw && peers.get(raw)) ?? `${stripMapped(socket.remoteAddress)}:${socket.remotePort ?? '?'}`;
    const suppressed = options.throttle.admit(`tls ${peer.replace(/:\d+$/, '')}`);
    if (suppressed !== undefined) {
      const why = err.code === 'ECONNRESET' ? 'the client hung up (does it trust our certificate?)' : (err.code ?? err.message);
      options.log.warn(`TLS handshake failed from ${peer}: ${why}${suppressedNote(suppressed)}`);
    }
  });
  return server;
}

function stripMapped(address: string | undefined): string {
  return (address ?? 'unknown').replace(/^::ffff:/, '');
}
