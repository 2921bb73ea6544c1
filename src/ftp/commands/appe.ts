import { isStorageError, StorageError } from '../../storage/errors';
import { assertDataReady } from '../data-transfer';
import type { FtpCommand } from './command';
import { takeRestOffset } from './party';
import { fileTarget } from './targets';
import { receiveUpload } from './upload';

/**
 * `APPE path`: append to a file (create it when missing). Appending writes
 * into the existing file in place: readers see it grow, and an upload cut
 * short keeps what arrived (see docs/FTP.md). Where the storage cannot
 * write in place (S3), APPE is refused (550) before anything is sent.
 */
export const appeCommand: FtpCommand = {
  verb: 'APPE',
  syntax: 'APPE <SP> <pathname>',
  permission: 'write',
  argument: 'required',
  logName: 'PUT',
  async run(context) {
    const { storage } = context;
    assertDataReady(context);
    // APPE always writes at the end: a REST before it means nothing.
    takeRestOffset(context);
    if (!storage.capabilities.resumableUploads) throw new StorageError('not_supported', 'Appending is not supported by this storage');
    const target = fileTarget(context);
    let size = 0;
    try {
      const entry = await storage.stat(target.parts);
      if (entry.type !== 'file') throw new StorageError('is_folder', 'Is a directory');
      size = entry.size;
    } catch (err) {
      if (!isStorageError(err, 'not_found')) throw err;
    }
    return receiveUpload(context, 'APPE', {
      path: target.path,
      parts: target.parts,
      offset: size,
      // An empty file is replaced whole; a longer one is never cut, only grown.
      replace: size === 0,
      opening: size > 0 ? `Ok to send data; appending after byte ${size}` : 'Ok to send data',
      done: 'Transfer complete',
    });
  },
};
