import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileEntry } from '../../../protocol/messages';
import { FtpError } from '../../errors';
import type { RestartReason } from '../../file-transfers';
import { isLocalDirectory, localNameFor, PART_SUFFIX, unsafeNameReason, existingFileSize } from '../../local-files';
import { joinRemote, remoteBasename, resolveRemote, toWirePath } from '../../remote-path';
import { humanDuration, humanRate, humanSize } from '../../ui/format';
import type { CommandSpec } from '../command-spec';
import type { ClientSession } from '../session';
import { isRemoteDir } from './remote';

/** Commands that move file bytes: get, mget, put. */

/** A path as shown to the user: relative to the local folder when inside it. */
function shownLocal(session: ClientSession, file: string): string {
  const rel = path.relative(session.localDir, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** What a resume that starts over says, before it does. */
const RESTART_TEXT: Readonly<Record<RestartReason, string>> = {
  changed: 'remote file changed since the partial download; starting over',
  unversioned: 'the partial download has no recorded version, so it cannot be proven to match the remote file; starting over',
};

/** Download one file with a progress bar and a one-line summary. */
async function downloadOne(
  session: ClientSession, command: string, remote: string, local: string, options: { resume: boolean; noClobber?: boolean },
): Promise<void> {
  const client = await session.connection();
  const bar = session.progress(remoteBasename(remote));
  const started = session.now();
  try {
    const r = await client.download(toWirePath(remote), local, {
      resume: options.resume,
      noClobber: options.noClobber === true,
      onProgress: bar.onProgress,
      onRestart: (reason) => session.warn(`${command}: ${remote}: ${RESTART_TEXT[reason]}`),
    });
    bar.stop();
    const ms = session.now() - started;
    const resumed = r.offset > 0 ? `, resumed at ${humanSize(r.offset)}` : '';
    session.result(
      `${remote} -> ${shownLocal(session, local)}: ${humanSize(r.size)} in ${humanDuration(ms)} (${humanRate(r.bytes, ms)}${resumed})`,
      {
        ok: true, command, remote, local, size: r.size, offset: r.offset, bytes: r.bytes, sha256: r.fileSha256, ms,
        ...(r.restarted ? { restarted: r.restarted } : {}),
      },
    );
  } catch (err) {
    bar.stop();
    const partial = local + PART_SUFFIX;
    if (err instanceof FtpError && ['network', 'timeout', 'closed'].includes(err.kind) && (await existingFileSize(partial).catch(() => 0)) > 0) {
      throw new FtpError(err.kind, `${err.message} (partial file kept: ${command} -c resumes it)`, err.code, { cause: err });
    }
    throw err;
  }
}

export const get: CommandSpec = {
  name: 'get',
  aliases: ['recv', 'download'],
  args: [
    { name: 'REMOTE', required: true, complete: 'remote' },
    { name: 'LOCAL', required: false, complete: 'local' },
  ],
  flags: { c: { long: 'continue', help: 'resume LOCAL.part from where it stopped' } },
  summary: 'download a file (LOCAL "-" writes it to standard output)',
  oneShot: true,
  async run(session, { args, flags }) {
    const remote = session.remote(args[0]);
    if (remote === '/') throw new FtpError('conflict', '/: is a folder', 409);
    if (args[1] === '-') {
      await (await session.connection()).get(toWirePath(remote), session.options.stdout);
      return;
    }
    // The remote name is checked as a local one only when it becomes one:
    // `get NAME LOCAL` is how to fetch a file whose name is unsafe here.
    let local = args[1] === undefined ? path.join(session.localDir, localNameFor(remote)) : session.local(args[1]);
    if (args[1] !== undefined && (args[1].endsWith('/') || (await isLocalDirectory(local)))) local = path.join(local, localNameFor(remote));
    await downloadOne(session, 'get', remote, local, { resume: flags.has('c') });
  },
};

/** `*` and `?` wildcards over one name, anchored. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** Why mget leaves a matching file alone (not a failure: the user is told). */
function mgetSkipReason(entry: FileEntry, pattern: string, local: string, flags: ReadonlySet<string>, exists: boolean): string | null {
  // As in a shell's glob: `*` does not reach dotfiles (.bashrc, .ssh...).
  if (entry.name.startsWith('.') && !pattern.startsWith('.') && !flags.has('a')) {
    return 'a dotfile (mget -a includes dotfiles)';
  }
  if (exists && !flags.has('f')) return `${local} exists (mget -f replaces it)`;
  return null;
}

export const mget: CommandSpec = {
  name: 'mget',
  aliases: [],
  args: [{ name: 'PATTERN', required: true, variadic: true, complete: 'remote' }],
  flags: {
    c: { long: 'continue', help: 'resume partial downloads' },
    a: { long: 'all', help: 'include dotfiles (a pattern starting with . includes them too)' },
    f: { long: 'force', help: 'replace local files that exist' },
  },
  summary: 'download every remote file matching the patterns (* and ?) into the local folder; skips dotfiles and existing local files unless asked',
  oneShot: true,
  async run(session, { args, flags }) {
    const client = await session.connection();
    let failed: FtpError | null = null;
    let count = 0;
    for (const pattern of args) {
      const slash = pattern.lastIndexOf('/');
      const dir = resolveRemote(session.remoteCwd, slash >= 0 ? pattern.slice(0, slash + 1) : '.');
      const namePattern = pattern.slice(slash + 1);
      const matcher = globToRegExp(namePattern);
      const files = (await client.list(toWirePath(dir))).filter((e) => e.type === 'file' && matcher.test(e.name));
      if (files.length === 0) {
        failed ??= new FtpError('not_found', `no remote file matches ${pattern}`, 404);
        session.warn(`mget: no remote file matches ${pattern}`);
      }
      for (const entry of files) {
        const remote = joinRemote(dir, entry.name);
        // These names come from the server: never let one choose where we write.
        const reason = unsafeNameReason(entry.name);
        if (reason) {
          count += 1;
          failed ??= new FtpError('unsafe_name', `refusing unsafe name from the server "${entry.name}": ${reason}`);
          session.warn(`mget: skipping unsafe name from the server "${entry.name}": ${reason}`);
          continue;
        }
        const local = path.join(session.localDir, entry.name);
        const skip = mgetSkipReason(entry, namePattern, shownLocal(session, local), flags, await localNameTaken(local));
        if (skip) {
          session.warn(`mget: skipping ${remote}: ${skip}`);
          continue;
        }
        count += 1;
        try {
          await downloadOne(session, 'mget', remote, local, { resume: flags.has('c'), noClobber: !flags.has('f') });
        } catch (err) {
          const e = err instanceof FtpError ? err : new FtpError('local', String(err));
          failed ??= e;
          session.warn(`mget: ${e.message}`);
          if (['network', 'timeout', 'closed'].includes(e.kind)) throw e;
        }
      }
    }
    if (failed) throw new FtpError(failed.kind, `${count > 0 ? 'some files failed' : failed.message}`, failed.code, { cause: failed });
  },
};

/** True when something (a file, a folder, even a dangling link) has this local name. */
async function localNameTaken(local: string): Promise<boolean> {
  return fs.lstat(local).then(() => true, () => false);
}

export const put: CommandSpec = {
  name: 'put',
  aliases: ['send', 'upload'],
  args: [
    { name: 'LOCAL', required: true, complete: 'local' },
    { name: 'REMOTE', required: false, complete: 'remote' },
  ],
  flags: {},
  summary: 'upload a file (its SHA-256 is sent, so corruption is refused)',
  oneShot: true,
  mutates: true,
  async run(session, { args }) {
    const local = session.local(args[0]);
    const name = path.basename(local);
    let remote = args[1] === undefined ? joinRemote(session.remoteCwd, name) : session.remote(args[1]);
    if (args[1] !== undefined && (remote === '/' || args[1].endsWith('/') || (await isRemoteDir(session, remote)))) {
      remote = joinRemote(remote, name);
    }
    const client = await session.connection();
    const bar = session.progress(name);
    const started = session.now();
    try {
      const r = await client.upload(local, toWirePath(remote), { onProgress: bar.onProgress });
      bar.stop();
      const ms = session.now() - started;
      session.result(
        `${shownLocal(session, local)} -> ${remote}: ${humanSize(r.bytes)} in ${humanDuration(ms)} (${humanRate(r.bytes, ms)})`,
        { ok: true, command: 'put', local, remote, bytes: r.bytes, sha256: r.sha256, ms },
      );
    } finally {
      bar.stop();
    }
  },
};
