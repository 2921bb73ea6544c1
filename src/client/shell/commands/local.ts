import fs from 'node:fs/promises';
import type { FileEntry } from '../../../protocol/messages';
import { FtpError, localError } from '../../errors';
import { formatListing } from '../../ui/format';
import type { CommandSpec } from '../command-spec';

/** Commands on the local side: the folder transfers read from and write to. */

export const lcd: CommandSpec = {
  name: 'lcd',
  aliases: [],
  args: [{ name: 'DIR', required: false, complete: 'local' }],
  flags: {},
  summary: 'change the local folder (no argument: show it)',
  oneShot: false,
  async run(session, { args }) {
    if (args[0] !== undefined) {
      const target = session.local(args[0]);
      let info;
      try {
        info = await fs.stat(target);
      } catch (err) {
        throw localError(err, target);
      }
      if (!info.isDirectory()) throw new FtpError('local', `${target}: not a folder`);
      session.localDir = target;
    }
    session.print(`local folder: ${session.localDir}`);
  },
};

export const lpwd: CommandSpec = {
  name: 'lpwd',
  aliases: [],
  args: [],
  flags: {},
  summary: 'show the local folder',
  oneShot: false,
  async run(session) {
    session.print(session.localDir);
  },
};

export const lls: CommandSpec = {
  name: 'lls',
  aliases: ['ldir'],
  args: [{ name: 'DIR', required: false, complete: 'local' }],
  flags: { l: { long: 'long', help: 'a table with type, size and time' } },
  summary: 'list the local folder',
  oneShot: false,
  async run(session, { args, flags }) {
    const target = session.local(args[0] ?? '.');
    const entries: FileEntry[] = [];
    try {
      const names = (await fs.readdir(target)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const name of names) {
        const info = await fs.stat(`${target}/${name}`).catch(() => null);
        if (!info) continue;
        const dir = info.isDirectory();
        entries.push({ name, type: dir ? 'dir' : 'file', size: dir ? 0 : info.size, mtime: info.mtime.toISOString() });
      }
    } catch (err) {
      throw localError(err, target);
    }
    session.print(formatListing(entries, flags.has('l')));
  },
};
