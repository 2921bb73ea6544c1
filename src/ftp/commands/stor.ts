import { StorageError } from '../../storage/errors';
import { assertDataReady } from '../data-transfer';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { takeRestOffset } from './party';
import { fileTarget } from './targets';
import { receiveUpload } from './upload';

/**
 * `STOR path`: upload. Atomic, as on the native port: the bytes go to a
 * hidden temporary file that replaces the target only once the client
 * closed the data connection cleanly, so a dropped or aborted upload
 * leaves the old file (or none). After REST, the upload resumes the
 * existing file in place from that offset instead (what curl -C -, lftp
 * and FileZilla do), where the storage can (not on S3: 554).
 */
export const storCommand: FtpCommand = {
  verb: 'STOR',
  syntax: 'STOR <SP> <pathname>',
  permission: 'write',
  argument: 'required',
  logName: 'PUT',
  async run(context) {
    const { session, storage } = context;
    assertDataReady(context);
    const offset = takeRestOffset(context);
    if (offset > 0 && session.state.type === 'A') throw new FtpReplyError(554, 'REST is not supported in ASCII mode: use TYPE I');
    if (offset > 0 && !storage.capabilities.resumableUploads) {
      throw new FtpReplyError(554, 'Requested action not taken: this storage cannot resume uploads (REST with STOR)');
    }
    const target = fileTarget(context);
    if (offset > 0) {
      const entry = await storage.stat(target.parts);
      if (entry.type !== 'file') throw new StorageError('is_folder', 'Is a directory');
      if (offset > entry.size) throw new FtpReplyError(554, `Requested action not taken: REST ${offset} is beyond the file's ${entry.size} bytes`);
    }
    return receiveUpload(context, 'STOR', {
      path: target.path,
      parts: target.parts,
      offset,
      replace: true,
      opening: offset > 0 ? `Ok to send data; writing from byte ${offset}` : 'Ok to send data',
      done: 'Transfer complete',
    });
  },
};
