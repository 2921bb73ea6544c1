import { randomBytes } from 'node:crypto';
import { childPath, parseClientPath } from '../../storage/path-rules';
import { assertDataReady } from '../data-transfer';
import type { FtpCommand } from './command';
import { takeRestOffset } from './party';
import { receiveUpload } from './upload';

/**
 * `STOU`: store under a name the server makes up, unique in the working
 * directory; the 150 names it (`FILE: name`, RFC 1123 §4.1.2.9). Never
 * replaces anything: a name that appears meanwhile fails the upload.
 */
export const stouCommand: FtpCommand = {
  verb: 'STOU',
  syntax: 'STOU',
  permission: 'write',
  argument: 'optional',
  logName: 'PUT',
  async run(context) {
    assertDataReady(context);
    takeRestOffset(context);
    const name = `stou-${randomBytes(8).toString('hex')}`;
    const { cwd } = context.session.state;
    const parts = childPath(parseClientPath(cwd), name);
    const path = cwd === '/' ? `/${name}` : `${cwd}/${name}`;
    return receiveUpload(context, 'STOU', {
      path,
      parts,
      offset: 0,
      replace: false,
      opening: `FILE: ${name}`,
      done: `Transfer complete (unique file name: ${name})`,
    });
  },
};
