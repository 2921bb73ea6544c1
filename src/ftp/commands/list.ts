import { listingLines, listLine, splitListArguments } from '../listing-format';
import { assertDataReady, runDataTransfer } from '../data-transfer';
import type { FtpCommand } from './command';
import { listEntries, omittedName, sendLines } from './listing';

/**
 * `LIST [-options] [path]`: `ls -l` lines over the data connection.
 * Leading option words (`-la`) are taken as options and ignored (every
 * entry, dotfiles included, is always listed); the rest of the line is the
 * path, spaces kept.
 */
export const listCommand: FtpCommand = {
  verb: 'LIST',
  syntax: 'LIST [<SP> [-options] <pathname>]',
  permission: 'read',
  argument: 'optional',
  async run(context) {
    assertDataReady(context);
    const { path } = splitListArguments(context.arg);
    const listed = await listEntries(context, path);
    const now = new Date(context.services.clock.now());
    const lines = listingLines(listed.entries, (entry) => listLine(entry, now, context.access), omittedName(context, 'LIST', listed.target.path));
    await runDataTransfer(context, {
      what: `LIST ${listed.target.path}`,
      opening: 'Here comes the directory listing',
      send: true,
      move: (socket, hooks) => sendLines(socket, lines, hooks),
    });
    context.session.log.info(`LIST: Sent ${listed.entries.length} entries`);
    return { code: 226, text: 'Directory send OK' };
  },
};
