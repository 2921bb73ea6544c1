import type { Log } from '../logging/log';

/** The line a session writes just before it runs a known command (docs/LOGGING.md §3). */
const COMMAND_LINE = /^Command: ([A-Z]+)(?: |$)/;

/**
 * A {@link Log} that passes every line on unchanged and, for each
 * `Command: NAME …` line, calls `onStart(NAME)`.
 *
 * Why: `ServerObserver` reports commands only once they finish, so nothing
 * says a transfer is under way. The session writes `Command: GET a.txt`
 * before running every known command and always reports the same command
 * through `observer.command()` afterwards (in a `finally`), so starts seen
 * here pair one-to-one with finishes seen there, and the difference is the
 * number of commands running. Stop-gap until the server calls
 * `commandStarted`/`transferStarted` itself; the pairing holds whatever the
 * log level, because the tap sits in front of winston's level filter.
 */
export function tapCommandStarts(log: Log, onStart: (name: string) => void): Log {
  const see = (message: string): void => {
    const match = COMMAND_LINE.exec(message);
    if (match) onStart(match[1]!);
  };
  return {
    info(message: string): void {
      see(message);
      log.info(message);
    },
    warn: (message: string) => log.warn(message),
    error: (message: string, err?: unknown) => log.error(message, err),
    child: (label: string) => tapCommandStarts(log.child(label), onStart),
  };
}
