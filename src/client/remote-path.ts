/**
 * Remote paths as the shell sees them. The protocol has no working folder,
 * so the shell keeps one (`cd`) and resolves what the user types against it
 * here, on the client: `..` is resolved before sending (the server refuses
 * `..` parts) and never climbs above the root.
 */

/** Resolve `input` against the absolute remote folder `cwd`; returns `/`-rooted, normalised. */
export function resolveRemote(cwd: string, input: string): string {
  const base = input.startsWith('/') ? [] : splitParts(cwd);
  for (const part of splitParts(input)) {
    if (part === '.') continue;
    if (part === '..') base.pop();
    else base.push(part);
  }
  return `/${base.join('/')}`;
}

/** The form sent on the wire: `a/b` for `/a/b`, and `/` for the root. */
export function toWirePath(absolute: string): string {
  const parts = splitParts(absolute);
  return parts.length === 0 ? '/' : parts.join('/');
}

/** The last part of a remote path (`''` for the root). */
export function remoteBasename(p: string): string {
  const parts = splitParts(p);
  return parts[parts.length - 1] ?? '';
}

/** Join a remote folder and a plain name. */
export function joinRemote(dir: string, name: string): string {
  return resolveRemote(dir, name.replace(/^\/+/, ''));
}

function splitParts(p: string): string[] {
  return p.split('/').filter((part) => part.length > 0);
}
