import type { FileEntry } from '../../protocol/messages';
import { FtpError } from '../errors';
import { UsageError } from './exit-codes';

/**
 * Text the user reads: sizes, times, listings, durations and error lines.
 * Pure functions, so their output is tested without a terminal.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` → `1.5 KiB`; bytes stay exact below 1 KiB. */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** A rate in human units per second. */
export function humanRate(bytes: number, ms: number): string {
  if (ms <= 0) return '-';
  return `${humanSize(Math.round((bytes * 1000) / ms))}/s`;
}

/** Milliseconds as `0.42 s`, `12.3 s`, `3m05s`. */
export function humanDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** A server `mtime` as local `YYYY-MM-DD HH:MM`, or the raw text when unparsable. */
export function localTime(mtime: string): string {
  const d = new Date(mtime);
  if (Number.isNaN(d.getTime())) return mtime;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** How a name is shown: folders end with `/`, like `ls -F`. */
export function displayName(entry: Pick<FileEntry, 'name' | 'type'>): string {
  return entry.type === 'dir' ? `${entry.name}/` : entry.name;
}

/** `ls` output: names only, or with `long` a table of type, size, time, name. */
export function formatListing(entries: readonly FileEntry[], long: boolean): string[] {
  if (!long) return entries.map(displayName);
  const rows = entries.map((e) => [e.type === 'dir' ? 'dir' : 'file', e.type === 'dir' ? '-' : humanSize(e.size), localTime(e.mtime), displayName(e)]);
  const sizeWidth = Math.max(4, ...rows.map((r) => r[1].length));
  return rows.map(([type, size, time, name]) => `${type.padEnd(4)}  ${size.padStart(sizeWidth)}  ${time}  ${name}`);
}

/** `stat` output, one `key: value` per line. */
export function formatStat(entry: FileEntry, shownPath: string): string[] {
  return [
    `name:  ${entry.name}`,
    `path:  ${shownPath}`,
    `type:  ${entry.type === 'dir' ? 'folder' : 'file'}`,
    `size:  ${entry.size} bytes${entry.size >= 1024 ? ` (${humanSize(entry.size)})` : ''}`,
    `mtime: ${entry.mtime} (${localTime(entry.mtime)} local)`,
  ];
}

/**
 * The one line shown for a failed command: `cmd: message`. Never a stack:
 * unexpected errors show their message only.
 */
export function errorLine(command: string, err: unknown): string {
  const prefix = command ? `${command}: ` : '';
  if (err instanceof FtpError || err instanceof UsageError) return `${prefix}${err.message}`;
  if (err instanceof Error) return `${prefix}unexpected error: ${err.message}`;
  return `${prefix}unexpected error: ${String(err)}`;
}
