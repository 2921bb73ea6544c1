/**
 * The data phase of a transfer command (RETR, STOR, APPE, STOU, LIST,
 * NLST, MLSD), the same for all: get the data connection (425 if it does
 * not come), answer 150, run the TLS handshake when PROT P (522 if it
 * fails), move the bytes under the stall timer, and close the connection
 * the way the peer can read it whole. ABOR, the stall timer and a lost
 * control connection abort it; the command then answers 426.
 *
 * The order matters to real clients: ftplib starts TLS on the data
 * connection only after it has read the 150, curl and basic-ftp before
 * sending the command. Answering 150 once the TCP connection is up, then
 * waiting for the handshake, serves both.
 */
import type { Socket } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import { TLSSocket } from 'node:tls';
import { TransferAbortedError } from '../core/errors';
import type { TransferHooks } from '../core/transfers';
import type { Clock } from '../util/clock';
import type { ActiveTransfer, CommandContext } from './commands/command';
import { endAndFlush } from './data-streams';
import { FtpReplyError } from './error-replies';
import { serverHandshake, TlsHandshakeError } from './ftp-tls';

/** What a transfer command moves, and how. */
export interface DataTransferSpec<T> {
  /** `RETR a.txt`: for STAT and the abort's log line. */
  what: string;
  /** The 150 text. */
  opening: string;
  /** The server sends (downloads, listings): its end of the connection closes only once the bytes are out. */
  send: boolean;
  /** Move the bytes over `socket`, reporting each chunk to `hooks.progress`. */
  move(socket: Socket, hooks: TransferHooks): Promise<T>;
}

/**
 * What every transfer command checks before it opens anything: a data
 * connection was set up (425), and, where TLS is required, it will be
 * encrypted (521, RFC 4217 §9).
 */
export function assertDataReady({ session, services }: CommandContext): void {
  if (!session.data.ready) throw new FtpReplyError(425, 'Use PASV, EPSV, PORT or EPRT first');
  const { policy } = services;
  if (policy.tls && !policy.allowPlain && session.state.prot !== 'P') {
    throw new FtpReplyError(521, 'Data connection cannot be opened with this PROT setting: send PBSZ 0 and PROT P');
  }
}

/** One transfer's data phase, abortable from the control connection. */
class RunningTransfer implements ActiveTransfer {
  bytes = 0;
  reason: string | undefined;
  readonly controller = new AbortController();
  private socket: Socket | undefined;

  constructor(readonly what: string) {}

  attach(socket: Socket): void {
    this.socket = socket;
    if (this.reason !== undefined) socket.destroy();
  }

  abort(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller.abort(new TransferAbortedError(reason, this.bytes));
    this.socket?.destroy();
  }

  /** The error the command answers: once aborted, the abort's reason, whatever broke first. */
  explain(err: unknown): unknown {
    if (this.reason === undefined) return err;
    const moved = err instanceof TransferAbortedError ? err.bytesMoved : this.bytes;
    return new TransferAbortedError(this.reason, moved);
  }
}

/** See the module comment. Call after {@link assertDataReady} and after opening the file. */
export async function runDataTransfer<T>(context: CommandContext, spec: DataTransferSpec<T>): Promise<T> {
  const { session, services } = context;
  const { clock, limits, policy } = services;
  const stallMs = limits.transferTimeoutMs;
  const transfer = new RunningTransfer(spec.what);
  session.beginTransfer(transfer);
  let socket: Socket | undefined;
  let stall: ReturnType<Clock['setTimer']> | undefined;
  let clean = false;
  try {
    socket = await session.data.connect(transfer.controller.signal);
    transfer.attach(socket);
    session.reply(150, spec.opening);
    if (session.state.prot === 'P' && policy.tls) {
      try {
        socket = await serverHandshake(socket, policy.tls, stallMs, clock, transfer.controller.signal);
      } catch (err) {
        if (err instanceof TlsHandshakeError && transfer.reason === undefined) {
          throw new FtpReplyError(522, `TLS negotiation on the data connection failed (${err.message})`);
        }
        throw err;
      }
      transfer.attach(socket);
      // Left to itself, Node ends and destroys a TLS socket as soon as the
      // peer's close_notify arrives, and our close_notify was then often
      // lost: a client that waits for it after an upload (ftplib's
      // unwrap()) saw a bare EOF (36 of 80 REST+STORs). closeData ends it
      // instead, and waits for the client to close.
      socket.allowHalfOpen = true;
    }
    stall = clock.setTimer(stallMs, () => transfer.abort(`stalled for ${stallMs / 1000} s`));
    const timer = stall;
    const hooks: TransferHooks = {
      progress: (bytes) => {
        transfer.bytes += bytes;
        timer.refresh();
        session.touch();
      },
    };
    const result = await spec.move(socket, hooks);
    if (spec.send) {
      // TLS 1.3 session tickets go out after the handshake: a close_notify
      // written in the same turn (an empty or short listing) overtakes
      // them, and OpenSSL clients (Python's ftplib) then fail their
      // shutdown with SHUTDOWN_WHILE_IN_INIT. One turn lets them out first.
      if (socket instanceof TLSSocket) await setImmediate();
      await endAndFlush(socket);
    }
    clean = true;
    return result;
  } catch (err) {
    throw transfer.explain(err);
  } finally {
    stall?.cancel();
    session.data.close();
    if (socket) closeData(socket, clean, clock, stallMs);
  }
}

/**
 * Let go of a data connection. After a clean end, wait for the peer to
 * close its side (bounded): destroying the socket while the client still
 * has our last bytes unread could make its system drop them with a reset.
 * Otherwise cut it now.
 */
function closeData(socket: Socket, clean: boolean, clock: Clock, lingerMs: number): void {
  if (!clean || socket.destroyed) {
    socket.destroy();
    return;
  }
  if (!socket.writableEnded) socket.end();
  socket.resume();
  const linger = clock.setTimer(lingerMs, () => socket.destroy());
  socket.once('close', () => linger.cancel());
}
