import type { AddressInfo } from 'node:net';

/**
 * One front end's port, as the process that runs it sees it: where it
 * listens, how many sessions it serves, and how it stops. Every listener on
 * one {@link ServerCore} drains the same way on SIGTERM.
 */
export interface Listener {
  /** The bound address (useful with port 0). */
  readonly address: AddressInfo;
  /** Sessions open right now. */
  readonly activeSessions: number;
  /** True once a shutdown has begun. */
  readonly draining: boolean;
  /** Stop accepting, let work in flight finish for up to `graceMs`, then cut the rest. Idempotent. */
  close(graceMs?: number): Promise<void>;
  /** Cut every connection now (a second Ctrl-C). */
  terminate(): void;
}

/** Several listeners as one admin target: draining when any drains, their sessions summed. */
export function allListeners(listeners: readonly Listener[]): Pick<Listener, 'activeSessions' | 'draining'> {
  return {
    get activeSessions() {
      return listeners.reduce((sum, l) => sum + l.activeSessions, 0);
    },
    get draining() {
      return listeners.some((l) => l.draining);
    },
  };
}
