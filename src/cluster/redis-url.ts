/**
 * How a node names its Redis, without loading the client: the CLI checks
 * options and logs with these, and only a node started with `--redis-url`
 * pays for loading ioredis.
 */

/** Prefix of every key unless `--redis-prefix` says otherwise. */
export const DEFAULT_KEY_PREFIX = 'ftp-server:';

/** `redis://user:secret@host:6379/0` -> `redis://host:6379/0`: log lines never carry credentials. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid Redis URL)';
  }
}
