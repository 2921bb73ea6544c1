import { optionalString } from '../../protocol/messages';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const lsCommand: CommandHandler = {
  name: 'LS',
  syntax: '[path]',
  permission: 'read',
  description: 'List a folder (the root when no path is given)',
  target: (fields) => fieldForLog(fields, 'path'),
  async run({ fields, storage, log }) {
    const path = optionalString(fields, 'path');
    const files = await storage.list(path);
    log.info(`LS: Sent ${files.length} files to client`);
    return { code: 200, message: `${files.length} ${files.length === 1 ? 'entry' : 'entries'}`, files };
  },
};
