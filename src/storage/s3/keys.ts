/**
 * Where a client path lives in the bucket. Every key this backend reads,
 * lists or writes is made here, from a prefix fixed at construction and the
 * parts of an already-validated {@link StoragePath}; the parts are checked
 * once more, so no key outside the prefix can be formed whatever reached us.
 *
 * Layout: a file `a/b.txt` is the object `<prefix>a/b.txt`; a folder `a` is
 * every key under `<prefix>a/`, plus the zero-byte marker object `<prefix>a/`
 * that MKDIR writes so an empty folder exists at all.
 */
import { StorageError } from '../errors';
import { parseClientPath, type StoragePath } from '../path-rules';

/** S3's longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** True when `name` is a single part a client could name (§3 path rules, not reserved). */
export function isClientName(name: string): boolean {
  if (name.length === 0 || name.includes('/')) return false;
  try {
    const parts = parseClientPath(name);
    return parts.length === 1 && parts[0] === name;
  } catch {
    return false;
  }
}

/**
 * Normalise the operator's prefix to `''` (the whole bucket) or `a/b/`.
 * @throws a plain Error (for the operator) when a part breaks the path rules.
 */
export function normalizePrefix(raw: string): string {
  const parts = raw.split('/').filter((part) => part.length > 0);
  for (const part of parts) {
    if (!isClientName(part)) throw new Error(`Invalid S3 prefix '${raw}': '${part}' is not a valid folder name`);
  }
  return parts.length === 0 ? '' : `${parts.join('/')}/`;
}

/** The keys of one storage root: the bucket prefix, or a scope() below it. */
export class KeySpace {
  /** @param prefix `''` or ending in `/`, from {@link normalizePrefix}. */
  constructor(readonly prefix: string) {}

  /** The object key of the file at `path` (not the root). */
  objectKey(path: StoragePath): string {
    if (path.length === 0) throw new StorageError('is_folder', 'Is a folder');
    for (const part of path) {
      // Second gate: the parser already refused these. Keys must never climb.
      if (part.length === 0 || part === '.' || part === '..' || /[/\\\0]/.test(part)) {
        throw new StorageError('invalid_path', 'Invalid path');
      }
    }
    const key = this.prefix + path.join('/');
    // `+ 1`: the same name as a folder needs its trailing slash too.
    if (Buffer.byteLength(key, 'utf8') + 1 > MAX_KEY_BYTES) throw new StorageError('name_too_long', 'Name too long');
    return key;
  }

  /** The prefix every key inside the folder `path` starts with (the root: the prefix itself). */
  folderPrefix(path: StoragePath): string {
    return path.length === 0 ? this.prefix : `${this.objectKey(path)}/`;
  }

  /** The key space of the folder `path`, for scope(). */
  child(path: StoragePath): KeySpace {
    return new KeySpace(this.folderPrefix(path));
  }
}

/**
 * The `x-amz-copy-source` value for `key`: S3 wants it URL-encoded, and a
 * `+`, `#` or `?` left bare would name another key or end the value.
 */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** An ETag without its quotes (S3 quotes it in headers and XML). */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

/** The version key of an object: its ETag and size (see DownloadSource.versionKey). */
export function versionKeyOf(etag: string | undefined, size: number): string {
  return `${bareEtag(etag)}:${size}`;
}
