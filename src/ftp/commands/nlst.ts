import { listingLines, nlstLine, splitListArguments } from '../listing-format';
import { assertDataReady, runDataTransfer } from '../data-transfer';
import type { FtpCommand } from './command';
import { listEntries, omittedName, sendLines } from './listing';

/**
 * `NLST [path]`: names only, each usable as an argument of RETR as it is
 * (the folder the client named goes in front, RFC 959 §4.1.3).
 */
export const nlstCommand: FtpCommand = {
  verb: 'NLST',
  syntax: 'NLST [<SP> <pathname>]',
  permission: 'read',
  argument: 'optional',
  async run(context) {
    assertDataReady(context);
    const { path } = splitListArguments(context.arg);
    const listed = await listEntries(context, path);
    const shown = listed.single ? undefined : path;
    const lines = listingLines(listed.entries, (entry) => nlstLine(listed.single ? (path ?? entry.name) : entry.name, shown), omittedName(context, 'NLST', listed.target.path));
    await runDataTransfer(context, {
      what: `NLST ${listed.target.path}`,
      opening: 'Here comes the directory listing',
      send: true,
      move: (socket, hooks) => sendLines(socket, lines, hooks),
    });
    context.session.log.info(`NLST: Sent ${listed.entries.length} entries`);
    return { code: 226, text: 'Directory send OK' };
  },
};
