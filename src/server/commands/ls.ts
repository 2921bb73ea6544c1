import { optionalString } from '../../protocol/messages';
import { parseClientPath, ROOT_PATH } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';
import { toFileEntry } from './entries';

export const lsCommand: CommandHandler = {
  name: 'LS',
  syntax: '[path]',
  permission: 'read',
  description: 'List a folder (the root when no path is given)',
  target: (fields) => fieldForLog(fields, 'path'),
  async run({ fields, storage, log, limits }) {
    const path = optionalString(fields, 'path');
    // The entries may use what the frame limit leaves after the reply's own
    // fields, so a folder too big to send stops being read at that point.
    const envelope = Buffer.byteLength(JSON.stringify({ type: 'response', code: 200, message: `${Number.MAX_SAFE_INTEGER} entries`, files: [] }));
    const entries = await storage.list(path === undefined ? ROOT_PATH : parseClientPath(path), {
      maxReplyBytes: limits.maxServerFrameBytes - envelope + 1,
    });
    const files = entries.map(toFileEntry);
    log.info(`LS: Sent ${files.length} files to client`);
    return { code: 200, message: `${files.length} ${files.length === 1 ? 'entry' : 'entries'}`, files };
  },
};
