import { requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const rmdirCommand: CommandHandler = {
  name: 'RMDIR',
  syntax: 'path',
  permission: 'delete',
  description: 'Remove an empty folder',
  target: (fields) => fieldForLog(fields, 'path'),
  async run({ fields, storage, log }) {
    const path = requireString(fields, 'path');
    await storage.removeDirectory(parseClientPath(path));
    log.info(`RMDIR: Removed folder - ${fieldForLog(fields, 'path')}`);
    return { code: 200, message: 'Folder removed', path };
  },
};
