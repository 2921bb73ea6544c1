import { optionalString } from '../../protocol/messages';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

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
    const files = await storage.list(path, { maxBytes: limits.maxServerFrameBytes - envelope + 1 });
    log.info(`LS: Sent ${files.length} files to client`);
    return { code: 200, message: `${files.length} ${files.length === 1 ? 'entry' : 'entries'}`, files };
  },
};
