import type { FileEntry } from '../../../protocol/messages';
import { FtpError } from '../../errors';
import { joinRemote, remoteBasename, toWirePath } from '../../remote-path';
import { formatListing, formatStat } from '../../ui/format';
import type { CommandSpec } from '../command-spec';
import type { ClientSession } from '../session';

/** Commands that act on the remote side only: listing, folders, names. */

/** True when `absPath` names a remote folder; false when it is a file or missing. */
export async function isRemoteDir(session: ClientSession, absPath: string): Promise<boolean> {
  try {
    return (await (await session.connection()).stat(toWirePath(absPath))).type === 'dir';
  } catch (err) {
    if (err instanceof FtpError && err.kind === 'not_found') return false;
    throw err;
  }
}

export const ls: CommandSpec = {
  name: 'ls',
  aliases: ['dir', 'list'],
  args: [{ name: 'PATH', required: false, complete: 'remote' }],
  flags: { l: { long: 'long', help: 'a table with type, size and time' } },
  summary: 'list a remote folder (or show one file)',
  oneShot: true,
  async run(session, { args, flags }) {
    const target = session.remote(args[0] ?? '.');
    const client = await session.connection();
    let entries: FileEntry[];
    try {
      entries = await client.list(toWirePath(target));
    } catch (err) {
      // `ls FILE` shows that file, as `ls` does locally.
      if (!(err instanceof FtpError && err.code === 409)) throw err;
      entries = [await client.stat(toWirePath(target))];
    }
    const lines = formatListing(entries, flags.has('l'));
    if (!session.json && flags.has('l')) lines.push(`${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`);
    session.result(lines, { path: target, files: entries });
  },
};

export const cd: CommandSpec = {
  name: 'cd',
  aliases: ['cwd'],
  args: [{ name: 'PATH', required: false, complete: 'remote' }],
  flags: {},
  summary: 'change the remote folder (no argument: the root)',
  oneShot: false,
  async run(session, { args }) {
    const target = session.remote(args[0] ?? '/');
    if (target !== '/') {
      const entry = await (await session.connection()).stat(toWirePath(target));
      if (entry.type !== 'dir') throw new FtpError('conflict', `${target}: not a folder`, 409);
    }
    session.remoteCwd = target;
  },
};

export const pwd: CommandSpec = {
  name: 'pwd',
  aliases: [],
  args: [],
  flags: {},
  summary: 'show the remote folder',
  oneShot: false,
  async run(session) {
    session.print(session.remoteCwd);
  },
};

export const stat: CommandSpec = {
  name: 'stat',
  aliases: ['info'],
  args: [{ name: 'PATH', required: true, complete: 'remote' }],
  flags: {},
  summary: 'show the type, size and time of a remote file or folder',
  oneShot: true,
  async run(session, { args }) {
    const target = session.remote(args[0]);
    const entry = await (await session.connection()).stat(toWirePath(target));
    session.result(formatStat(entry, target), { path: target, file: entry });
  },
};

export const rm: CommandSpec = {
  name: 'rm',
  aliases: ['delete', 'del'],
  args: [{ name: 'FILE', required: true, variadic: true, complete: 'remote' }],
  flags: {},
  summary: 'delete remote files',
  oneShot: true,
  mutates: true,
  async run(session, { args }) {
    const client = await session.connection();
    for (const arg of args) {
      const target = session.remote(arg);
      await client.delete(toWirePath(target));
      session.result(`removed ${target}`, { ok: true, command: 'rm', path: target });
    }
  },
};

export const mkdir: CommandSpec = {
  name: 'mkdir',
  aliases: ['md'],
  args: [{ name: 'PATH', required: true, complete: 'remote' }],
  flags: {},
  summary: 'create a remote folder',
  oneShot: true,
  mutates: true,
  async run(session, { args }) {
    const target = session.remote(args[0]);
    await (await session.connection()).mkdir(toWirePath(target));
    session.result(`created ${target}/`, { ok: true, command: 'mkdir', path: target });
  },
};

export const rmdir: CommandSpec = {
  name: 'rmdir',
  aliases: ['rd'],
  args: [{ name: 'PATH', required: true, complete: 'remote' }],
  flags: {},
  summary: 'remove an empty remote folder',
  oneShot: true,
  mutates: true,
  async run(session, { args }) {
    const target = session.remote(args[0]);
    await (await session.connection()).rmdir(toWirePath(target));
    session.result(`removed ${target}/`, { ok: true, command: 'rmdir', path: target });
  },
};

export const mv: CommandSpec = {
  name: 'mv',
  aliases: ['rename', 'ren'],
  args: [
    { name: 'FROM', required: true, complete: 'remote' },
    { name: 'TO', required: true, complete: 'remote' },
  ],
  flags: {},
  summary: 'rename or move a remote file or folder (into TO when TO is a folder)',
  oneShot: true,
  mutates: true,
  async run(session, { args }) {
    const from = session.remote(args[0]);
    let to = session.remote(args[1]);
    if (to === '/' || args[1].endsWith('/') || (await isRemoteDir(session, to))) to = joinRemote(to, remoteBasename(from));
    await (await session.connection()).rename(toWirePath(from), toWirePath(to));
    session.result(`renamed ${from} -> ${to}`, { ok: true, command: 'mv', from, to });
  },
};
