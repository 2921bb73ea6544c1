import { wholeFileDigest } from '../file-digest';
import type { FtpCommand } from './command';
import { fileTarget } from './targets';

/** The one algorithm HASH offers. */
export const HASH_ALGORITHM = 'SHA-256';

/**
 * `HASH path` (draft-bryan-ftpext-hash-02): `213 SHA-256 0-<size> <hex>
 * <path>`, the whole file's digest, so a script can check a transfer end to
 * end. Served from the digest cache when the file was uploaded or
 * downloaded whole since it last changed; ranges (RANG) are not offered.
 */
export const hashCommand: FtpCommand = {
  verb: 'HASH',
  syntax: 'HASH <SP> <pathname>',
  permission: 'read',
  argument: 'required',
  features: () => [`HASH ${HASH_ALGORITHM}*`],
  async run(context) {
    const target = fileTarget(context);
    const { sha256, size } = await wholeFileDigest(context.services.transfers, context.storage, target.parts);
    return { code: 213, text: `${HASH_ALGORITHM} 0-${size} ${sha256} ${context.arg}` };
  },
};
