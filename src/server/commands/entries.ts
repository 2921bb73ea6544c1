import type { FileEntry } from '../../protocol/messages';
import type { StorageEntry } from '../../storage/storage';

/** A storage entry as the native port sends it: the time as UTC ISO text (contract §4). */
export function toFileEntry(entry: StorageEntry): FileEntry {
  return { name: entry.name, type: entry.type, size: entry.size, mtime: entry.mtime.toISOString() };
}
