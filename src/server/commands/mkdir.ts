import { requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const mkdirCommand: CommandHandler = {
  name: 'MKDIR',
  syntax: 'path',
  permission: 'mkdir',
  description: 'Create a folder (its parent must exist)',
  target: (fields) => fieldForLog(fields, 'path'),
  async run({ fields, storage, log }) {
    const path = requireString(fields, 'path');
    await storage.makeDirectory(parseClientPath(path));
    log.info(`MKDIR: Created folder - ${fieldForLog(fields, 'path')}`);
    return { code: 200, message: 'Folder created', path };
  },
};
