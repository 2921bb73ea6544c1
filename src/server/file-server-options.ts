import type { ServerCore, ServerCoreOptions } from '../core/server-core';
import type { ProxySettings } from '../core/intake';
import type { TlsCredentials } from '../core/tls-acceptor';

/**
 * How to start the native port: where to listen, TLS, and either the shared
 * services to serve from (`core`) or what to make them from (the
 * {@link ServerCoreOptions}: root or storage, accounts, limits, log...).
 */
export interface FileServerOptions extends ServerCoreOptions {
  /**
   * The shared services to serve from (storage, accounts, admission,
   * transfers, observer, limits), as other listeners use them too. Without
   * one, the server makes its own from the options.
   */
  core?: ServerCore;
  /** Address to listen on (default `0.0.0.0`). */
  host?: string;
  /** Port to listen on; 0 picks a free one (default 5002). */
  port?: number;
  /** Serve TLS only (TLS 1.2+, modern ciphers) with this certificate and key. */
  tls?: TlsCredentials;
  /**
   * Behind a load balancer: read each connection's client from the PROXY
   * header (v1 or v2) the balancer sends first, and accept connections from
   * the trusted balancers only. Limits, bans and logs then see the client.
   */
  proxy?: ProxySettings;
}
