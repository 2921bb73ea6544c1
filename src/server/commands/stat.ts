import { requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import { toFileEntry } from './entries';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const statCommand: CommandHandler = {
  name: 'STAT',
  syntax: 'filename',
  permission: 'read',
  description: 'Describe one file or folder',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage }) {
    const file = toFileEntry(await storage.stat(parseClientPath(requireString(fields, 'filename'))));
    return { code: 200, message: 'OK', file };
  },
};
