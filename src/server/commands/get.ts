import { RangeError416 } from '../../protocol/errors';
import { nonNegativeInteger, requireString } from '../../protocol/messages';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const getCommand: CommandHandler = {
  name: 'GET',
  syntax: 'filename [offset]',
  description: 'Download a file, from byte `offset` when resuming',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage, channel, log, clock }) {
    const filename = requireString(fields, 'filename');
    const offset = nonNegativeInteger(fields, 'offset', 0);
    // One open handle for the whole reply: a concurrent PUT renames a new
    // file into place, and this download keeps reading the version it opened.
    const file = await storage.openRead(filename);
    try {
      if (offset > file.size) {
        throw new RangeError416(`Offset ${offset} is beyond the file size ${file.size}`);
      }
      const started = clock.now();
      channel.send({ type: 'response', code: 200, message: 'Sending file', filename, size: file.size, offset });
      const { bytes, sha256 } = await channel.sendFile(file, offset);
      channel.send({ type: 'transfer', code: 226, message: 'Transfer complete', bytes, sha256 });
      log.info(`GET: Sent file - ${fieldForLog(fields, 'filename')} (${bytes} bytes in ${clock.now() - started} ms)`);
    } finally {
      await file.close();
    }
  },
};
