import { requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const deleteCommand: CommandHandler = {
  name: 'DELETE',
  syntax: 'filename',
  permission: 'delete',
  description: 'Delete a file',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage, log }) {
    const filename = requireString(fields, 'filename');
    await storage.deleteFile(parseClientPath(filename));
    log.info(`DELETE: Deleted file - ${fieldForLog(fields, 'filename')}`);
    return { code: 200, message: 'File deleted', filename };
  },
};
