import { nonNegativeInteger, optionalSha256, requireString } from '../../protocol/messages';
import { parseClientPath } from '../../storage/path-rules';
import type { CommandHandler } from './command';
import { fieldForLog, nativeParty } from './command';

export const putCommand: CommandHandler = {
  name: 'PUT',
  syntax: 'filename size [sha256]',
  permission: 'write',
  description: 'Upload a file; it replaces the target atomically once every byte arrived',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run(context) {
    const { fields, storage, channel, transfers } = context;
    const filename = requireString(fields, 'filename');
    const size = nonNegativeInteger(fields, 'size');
    const sha256 = optionalSha256(fields, 'sha256');
    // The size limit (413) is told before anything about the path.
    transfers.assertUploadSize(size);
    const upload = await transfers.beginUpload(storage, parseClientPath(filename), { filename, size, sha256, replace: true, party: nativeParty(context) });
    try {
      channel.send({ type: 'response', code: 150, message: 'Ready to receive' });
      await channel.receiveUpload(upload);
      const done = await upload.commit();
      return { code: 226, message: 'File received', filename, bytes_received: done.bytes, sha256: done.sha256 };
    } catch (err) {
      // Refusals (422, 507) are logged by the runner like any other answer;
      // a payload that never arrived whole is logged by the upload itself.
      await upload.failed(err);
      throw err;
    }
  },
};
