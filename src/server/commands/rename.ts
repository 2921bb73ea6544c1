import { requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const renameCommand: CommandHandler = {
  name: 'RENAME',
  syntax: 'from to',
  permission: 'rename',
  description: 'Rename or move a file or folder (replaces a file at the destination)',
  target: (fields) => `${fieldForLog(fields, 'from') ?? ''} -> ${fieldForLog(fields, 'to') ?? ''}`,
  async run({ fields, storage, log }) {
    const from = requireString(fields, 'from');
    const to = requireString(fields, 'to');
    await storage.rename(parseClientPath(from), parseClientPath(to), { replace: true });
    log.info(`RENAME: Renamed - ${fieldForLog(fields, 'from')} -> ${fieldForLog(fields, 'to')}`);
    return { code: 200, message: 'Renamed', from, to };
  },
};
