import { nonNegativeInteger, optionalVersion, requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog, nativeParty } from './command';

export { publicVersion } from '../../core/transfers';

export const getCommand: CommandHandler = {
  name: 'GET',
  syntax: 'filename [offset] [if_version]',
  permission: 'read',
  description: 'Download a file, from byte `offset` when resuming, refused with 412 if it is no longer `if_version`',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run(context) {
    const { fields, storage, channel, transfers } = context;
    const filename = requireString(fields, 'filename');
    const offset = nonNegativeInteger(fields, 'offset', 0);
    const ifVersion = optionalVersion(fields, 'if_version');
    const download = await transfers.openDownload(storage, parseClientPath(filename), { filename, offset, ifVersion, party: nativeParty(context) });
    try {
      channel.send({ type: 'response', code: 200, message: 'Sending file', filename, size: download.size, offset, version: download.version });
      const { bytes, sha256 } = await channel.sendDownload(download);
      channel.send({ type: 'transfer', code: 226, message: 'Transfer complete', bytes, sha256 });
      download.succeeded(bytes);
    } catch (err) {
      download.failed(err);
      throw err;
    }
  },
};
