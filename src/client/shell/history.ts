import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Lines of history kept between sessions. */
export const HISTORY_SIZE = 1000;

/**
 * Where the interactive shell keeps its history: `FTP_CLIENT_HISTORY` when
 * set (empty turns it off), else `~/.ftp_client_history`.
 */
export function historyFile(env: NodeJS.ProcessEnv): string | null {
  const configured = env.FTP_CLIENT_HISTORY;
  if (configured !== undefined) return configured === '' ? null : configured;
  const home = env.HOME ?? os.homedir();
  return home ? path.join(home, '.ftp_client_history') : null;
}

/** Previous history, newest first (readline's order); empty when unreadable. */
export function loadHistory(file: string | null): string[] {
  if (!file) return [];
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

/** Save history, newest first; failures are ignored (history is a comfort, not data). */
export function saveHistory(file: string | null, lines: readonly string[]): void {
  if (!file || lines.length === 0) return;
  try {
    fs.writeFileSync(file, `${lines.slice(0, HISTORY_SIZE).join('\n')}\n`, { mode: 0o600 });
  } catch {
    // A read-only home must not spoil the exit.
  }
}
