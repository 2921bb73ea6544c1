/**
 * TLS for the FTP port (RFC 4217): one secure context per listener, used
 * for the control connection (after `AUTH TLS`, or from the first byte on
 * the implicit port) and for every data connection of its sessions.
 *
 * One context matters: a client that resumes the control connection's TLS
 * session on its data connections (curl, lftp and FileZilla do, and some
 * servers insist on it, to bind the data connection to the control one)
 * presents a session ticket that only the context which issued it can
 * read. Clients that do not resume get a full handshake; both work. The
 * ciphers and the minimum version are the native TLS port's.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials } from '../auth/tls-files';
import { TLS_CIPHERS } from '../core/tls-acceptor';
import type { Clock } from '../util/clock';

/** The secure context of an FTP listener. */
export function createFtpSecureContext(credentials: TlsCredentials): tls.SecureContext {
  return tls.createSecureContext({
    cert: credentials.cert,
    key: credentials.key,
    ...(credentials.passphrase ? { passphrase: credentials.passphrase } : {}),
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  });
}

/** A server-side handshake that did not finish: why, for the log and the reply. */
export class TlsHandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsHandshakeError';
  }
}

/**
 * Run the server side of a TLS handshake over `raw` (a connection already
 * accepted and, for the control connection, already answered `234`).
 * Resolves with the encrypted socket; rejects with a
 * {@link TlsHandshakeError} on failure or after `timeoutMs`, the socket
 * then destroyed. Bytes `raw` had buffered unread are fed to the handshake
 * by Node itself, so a ClientHello that raced the `234` is not lost.
 */
export function serverHandshake(raw: net.Socket, context: tls.SecureContext, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    raw.on('error', () => undefined);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    const timer = clock.setTimer(timeoutMs, () => fail(`not finished within ${timeoutMs / 1000} s`));
    const onAbort = (): void => fail('aborted');
    const cleanup = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (why: string): void => {
      cleanup();
      socket.on('error', () => undefined);
      socket.destroy();
      reject(new TlsHandshakeError(why));
    };
    const onSecure = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(err.code ?? err.message);
    const onClose = (): void => fail('the client hung up (does it trust our certificate?)');
    socket.once('secure', onSecure);
    socket.on('error', onError);
    socket.once('close', onClose);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
  });
}
