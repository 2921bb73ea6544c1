import fs from 'node:fs/promises';
import path from 'node:path';
import { argAt } from './command-spec';
import { commandNames, findCommand } from './commands';
import type { ClientSession } from './session';
import { escapeWord, tokenize } from './tokenize';

/**
 * Tab completion: the first word completes to a command; later words to
 * remote or local names, as the command's argument spec says. Folders
 * complete with a trailing `/` so Tab can go on into them.
 *
 * @returns readline's pair: the candidates, and the text they replace.
 */
export async function complete(session: ClientSession, line: string): Promise<[string[], string]> {
  const { words, lastRaw } = tokenize(line);
  const typingNewWord = lastRaw === '';
  const before = typingNewWord ? words : words.slice(0, -1);
  const current = typingNewWord ? '' : words[words.length - 1];

  if (before.length === 0) {
    const prefix = current.toLowerCase();
    return [commandNames().filter((n) => n.startsWith(prefix)).map((n) => `${n} `), lastRaw];
  }
  const spec = findCommand(before[0]);
  if (!spec) return [[], lastRaw];
  const positional = before.slice(1).filter((w) => !(w.startsWith('-') && w.length > 1));
  const kind = argAt(spec, positional.length)?.complete ?? 'none';
  try {
    if (kind === 'command') return [commandNames().filter((n) => n.startsWith(current.toLowerCase())), lastRaw];
    if (kind === 'remote') return [await remoteCandidates(session, current), lastRaw];
    if (kind === 'local') return [await localCandidates(session, current), lastRaw];
  } catch {
    // A failed listing just means no suggestions; the command will report errors.
  }
  return [[], lastRaw];
}

/** readline's callback form of {@link complete}. */
export function readlineCompleter(session: ClientSession) {
  return (line: string, callback: (err: null, result: [string[], string]) => void): void => {
    complete(session, line).then(
      (result) => callback(null, result),
      () => callback(null, [[], line]),
    );
  };
}

function split(current: string): { dirPart: string; prefix: string } {
  const slash = current.lastIndexOf('/');
  return { dirPart: current.slice(0, slash + 1), prefix: current.slice(slash + 1) };
}

async function remoteCandidates(session: ClientSession, current: string): Promise<string[]> {
  const { dirPart, prefix } = split(current);
  const entries = await session.cachedList(session.remote(dirPart || '.'));
  return entries
    .filter((e) => e.name.startsWith(prefix))
    .map((e) => escapeWord(dirPart + e.name) + (e.type === 'dir' ? '/' : ' '));
}

async function localCandidates(session: ClientSession, current: string): Promise<string[]> {
  const { dirPart, prefix } = split(current);
  const dirents = await fs.readdir(path.resolve(session.localDir, dirPart || '.'), { withFileTypes: true });
  return dirents
    .filter((d) => d.name.startsWith(prefix))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((d) => escapeWord(dirPart + d.name) + (d.isDirectory() ? '/' : ' '));
}
