import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open files, from `/proc/self/limits` (Linux);
 * `undefined` where that cannot be read. Node has no getrlimit, and the
 * kernel's own answer at the limit, EMFILE on accept, is silent to us (libuv
 * drops the pending connection itself), so the server sizes itself up front.
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.trim().split(/\s+/)[3];
    const value = Number(soft);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How many connections fit under `fdLimit` while keeping a reserve for the
 * files transfers open, the log files and Node's own descriptors.
 */
export function connectionsWithinDescriptors(fdLimit: number): number {
  const reserve = Math.min(256, Math.max(24, Math.floor(fdLimit / 4)));
  return Math.max(1, fdLimit - reserve);
}
