import { suppressedNote } from '../logging/throttle';
import { TransferAbortedError } from '../core/errors';
import { AuthRequiredError, ForbiddenError, ProtocolError } from '../protocol/errors';
import { parseCommand } from '../protocol/messages';
import type { CommandContext, CommandHandler } from './commands/command';
import { fieldForLog } from './commands/command';
import type { NativeSession } from './native-session';
import { isExpectedFailure, toNativeError } from './replies';

/**
 * Run one command frame on a session and send its answer. This is the one
 * place where a request is looked up, checked against login and permissions
 * (driven by each command's declared flags), and where every error becomes
 * a response with its code (from the one table in `replies.ts`) and a log
 * line at the right level.
 */
export async function runCommand(session: NativeSession, message: Record<string, unknown>): Promise<void> {
  const { deps, socket } = session;
  let handler: CommandHandler | undefined;
  let code = 200;
  const started = deps.clock.now();
  // Corked, a small reply (header, payload, trailer) leaves in one write.
  socket.cork();
  try {
    const { name, fields } = parseCommand(message);
    handler = deps.commands.get(name);
    if (!handler) {
      throw new ProtocolError(400, `Unknown command: ${fieldForLog({ name }, 'name')}`);
    }
    const target = handler.target(fields);
    session.log.info(`Command: ${handler.name}${target ? ` ${target}` : ''}`);
    authorize(session, handler);
    const context: CommandContext = {
      fields,
      storage: session.principal?.storage ?? deps.storage,
      log: session.log,
      limits: deps.limits,
      clock: deps.clock,
      channel: session.channel,
      transfers: deps.transfers,
      session,
      authenticator: deps.authenticator,
    };
    const reply = await handler.run(context);
    if (reply) {
      code = reply.code;
      session.send({ type: 'response', ...reply });
    }
  } catch (err) {
    code = answerFailure(session, err, handler, message);
  } finally {
    session.uncork();
    deps.observer.command?.(handler?.name ?? 'INVALID', code, deps.clock.now() - started, 'native');
  }
}

/** Login and permission checks, from the command's `public` and `permission` flags. */
function authorize(session: NativeSession, handler: CommandHandler): void {
  if (handler.public) return;
  const { principal } = session;
  if (session.deps.authenticator?.required && !principal) {
    throw new AuthRequiredError('Authentication required: send AUTH first');
  }
  if (principal && handler.permission && !principal.permissions.has(handler.permission)) {
    throw new ForbiddenError(`Permission denied: ${handler.permission} is not allowed for this user`);
  }
}

/** Log a failed command at the right level and answer it; returns the code sent. */
function answerFailure(
  session: NativeSession,
  err: unknown,
  handler: CommandHandler | undefined,
  message: Record<string, unknown>,
): number {
  const { log } = session;
  if (err instanceof TransferAbortedError) {
    // Mid-payload the stream is out of step: no response can be trusted, close.
    const reason = `${handler?.name ?? 'transfer'} aborted: ${err.message}`;
    if (session.socket.destroyed) session.noteReason(reason);
    else session.abort(reason);
    return 0;
  }
  const failure = toNativeError(err);
  const name = handler?.name;
  const target = handler?.target(message);
  const about = target ? ` - ${target}` : '';
  if (!name) {
    // Not a command at all: counted, throttled and answered by the session.
    session.rejectInvalid(failure);
    return failure.code;
  }
  if (isOutOfDescriptors(err)) {
    // Every session hits this at once when it happens: say it once per interval.
    const suppressed = session.deps.throttle.admit('descriptors');
    if (suppressed !== undefined) {
      log.error(`${name}: Out of file descriptors; answering 500 until some close${suppressedNote(suppressed)}`);
    }
  } else if (!isExpectedFailure(err)) {
    log.error(`${name}: Internal error${about}`, err instanceof Error && err.cause !== undefined ? err.cause : err);
  } else if (failure.code >= 500) {
    log.error(`${name}: ${failure.message}${about}`);
  } else {
    const what = failure.code === 404 ? (name === 'GET' ? 'File not found' : 'Not found') : failure.message;
    log.warn(`${name}: ${what}${about}`);
  }
  session.sendError(failure);
  return failure.code;
}

/** EMFILE/ENFILE: the process or the system ran out of file descriptors. */
function isOutOfDescriptors(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}
