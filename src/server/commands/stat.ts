import { requireString } from '../../protocol/messages';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const statCommand: CommandHandler = {
  name: 'STAT',
  syntax: 'filename',
  permission: 'read',
  description: 'Describe one file or folder',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage }) {
    const file = await storage.stat(requireString(fields, 'filename'));
    return { code: 200, message: 'OK', file };
  },
};
