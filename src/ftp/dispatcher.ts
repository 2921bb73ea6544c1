/**
 * Running one FTP command: the one place where a verb is looked up,
 * checked against the flags its module declares (argument, login,
 * permission), run, and where every failure becomes its reply (from the
 * one table in `error-replies.ts`) and a log line at the right level.
 *
 * Log lines keep the native port's texts where the two ports do the same
 * thing, so docs/LOGGING.md's recipes count both: `Command: RETR a.txt`,
 * then `GET: Sent file - a.txt (…)` from the transfer layer, or
 * `GET: File not found - a.txt` from here.
 */
import { ALL_PERMISSIONS } from '../core/access';
import { suppressedNote } from '../logging/throttle';
import { loggableCommand } from './command-line';
import type { CommandContext, CommandReply, FtpCommand, FtpSessionApi, FtpServices } from './commands/command';
import { nameForLog } from './commands/targets';
import { failureReply, FtpReplyError } from './error-replies';

/** The session as the dispatcher drives it. */
export interface DispatchSession extends FtpSessionApi {
  readonly services: FtpServices;
  /** Send a command's final reply (the one the observer counts). */
  sendFinal(reply: CommandReply): void;
  /** Answer a line that is no command (counted, logged throttled, closed after too many). */
  answerInvalid(code: number, text: string, reason: string): void;
}

/** Every right, for sessions without accounts (they may do what the native port's anonymous clients may). */
const EVERYTHING: ReadonlySet<(typeof ALL_PERMISSIONS)[number]> = new Set(ALL_PERMISSIONS);

/** Look `verb` up, check it, run it and answer it; never throws. */
export async function runFtpCommand(session: DispatchSession, verb: string, arg: string): Promise<void> {
  const { services } = session;
  const { clock, observer } = services;
  const started = clock.now();
  const command = services.commands.get(verb);
  let code: number;
  if (!command) {
    code = 500;
    session.answerInvalid(code, 'Unknown command', `Unknown command: ${verb}`);
  } else {
    session.log.info(`Command: ${nameForLog(loggableCommand(verb, arg))}`);
    code = await runKnown(session, command, verb, arg);
  }
  observer.command?.(command ? verb : 'INVALID', code, clock.now() - started, 'ftp');
}

async function runKnown(session: DispatchSession, command: FtpCommand, verb: string, arg: string): Promise<number> {
  const { state } = session;
  // RNTO must come straight after RNFR (RFC 959 §4.1.3): anything else forgets the source.
  if (command.verb !== 'RNTO') state.renameFrom = undefined;
  try {
    checkFlags(session, command, arg);
    const context: CommandContext = {
      verb,
      arg,
      session,
      services: session.services,
      storage: session.principal?.storage ?? session.services.guestStorage,
      access: session.principal?.permissions ?? EVERYTHING,
    };
    const reply = await command.run(context);
    session.sendFinal(reply);
    return reply.code;
  } catch (err) {
    return answerFailure(session, command, verb, arg, err);
  }
}

/** The checks every command's flags call for, in RFC 959's order: syntax, then login, then permission. */
function checkFlags(session: DispatchSession, command: FtpCommand, arg: string): void {
  if (command.argument === 'none' && arg !== '') throw new FtpReplyError(501, `${command.verb} takes no argument`);
  if (command.argument === 'required' && arg === '') throw new FtpReplyError(501, `${command.verb} needs an argument`);
  if (!command.public && !session.loggedIn) throw new FtpReplyError(530, 'Please log in with USER and PASS');
  const { principal } = session;
  if (principal && command.permission && !principal.permissions.has(command.permission)) {
    throw new FtpReplyError(550, `Permission denied: ${command.permission} is not allowed for this user`);
  }
}

/** Log a failure at its level and answer it; returns the code sent. */
function answerFailure(session: DispatchSession, command: FtpCommand, verb: string, arg: string, err: unknown): number {
  const outcome = failureReply(err, verb);
  const name = command.logName ?? command.verb;
  const about = arg !== '' && verb !== 'PASS' ? ` - ${nameForLog(arg)}` : '';
  const { log } = session;
  if (isOutOfDescriptors(err)) {
    const suppressed = session.services.throttle.admit('descriptors');
    if (suppressed !== undefined) log.error(`${name}: Out of file descriptors; answering ${outcome.code} until some close${suppressedNote(suppressed)}`);
  } else if (!outcome.expected) {
    log.error(`${name}: Internal error${about}`, err instanceof Error && err.cause !== undefined ? err.cause : err);
  } else {
    // The native port's wording for a missing file, so one recipe counts both ports.
    const missing = (err as { kind?: string }).kind === 'not_found';
    const text = missing ? (name === 'GET' ? 'File not found' : 'Not found') : outcome.logText;
    if (outcome.serverSide) log.error(`${name}: ${text}${about}`);
    else log.warn(`${name}: ${text}${about}`);
  }
  session.sendFinal({ code: outcome.code, text: outcome.text });
  if (outcome.close) session.endAfterReply(outcome.code === 421 ? 'refused: closing the control connection' : 'too many failed logins');
  return outcome.code;
}

/** EMFILE/ENFILE: the process or the system ran out of file descriptors. */
function isOutOfDescriptors(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}
