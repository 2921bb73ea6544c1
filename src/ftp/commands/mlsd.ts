import { FtpReplyError } from '../error-replies';
import { listingLines, mlsxLine } from '../listing-format';
import { assertDataReady, runDataTransfer } from '../data-transfer';
import type { FtpCommand } from './command';
import { listEntries, omittedName, sendLines } from './listing';

/**
 * `MLSD [path]` (RFC 3659 §7): machine-readable fact lines, one per entry,
 * over the data connection. The path must be a folder (§7.2.2: 501
 * otherwise).
 */
export const mlsdCommand: FtpCommand = {
  verb: 'MLSD',
  syntax: 'MLSD [<SP> <pathname>]',
  permission: 'read',
  argument: 'optional',
  async run(context) {
    assertDataReady(context);
    const listed = await listEntries(context, context.arg === '' ? undefined : context.arg);
    if (listed.single) throw new FtpReplyError(501, 'Not a directory: MLSD lists folders (use MLST for one entry)');
    const { mlstFacts } = context.session.state;
    const lines = listingLines(listed.entries, (entry) => mlsxLine(entry, mlstFacts, context.access), omittedName(context, 'MLSD', listed.target.path));
    await runDataTransfer(context, {
      what: `MLSD ${listed.target.path}`,
      opening: 'Here comes the directory listing',
      send: true,
      move: (socket, hooks) => sendLines(socket, lines, hooks),
    });
    context.session.log.info(`MLSD: Sent ${listed.entries.length} entries`);
    return { code: 226, text: 'Directory send OK' };
  },
};
