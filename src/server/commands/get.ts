import { createHash } from 'node:crypto';
import { PreconditionFailedError, RangeError416 } from '../../protocol/errors';
import { nonNegativeInteger, optionalVersion, requireString } from '../../protocol/messages';
import { TransferAbortedError } from '../payload';
import { SMALL_PAYLOAD_BYTES } from '../session-transfers';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const getCommand: CommandHandler = {
  name: 'GET',
  syntax: 'filename [offset] [if_version]',
  permission: 'read',
  description: 'Download a file, from byte `offset` when resuming, refused with 412 if it is no longer `if_version`',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage, channel, log, clock, observer, session }) {
    const filename = requireString(fields, 'filename');
    const offset = nonNegativeInteger(fields, 'offset', 0);
    const ifVersion = optionalVersion(fields, 'if_version');
    // One version of the file for the whole reply: small files are read
    // whole in one go, others streamed from the one handle opened here. A
    // concurrent PUT renames a new file into place and never mixes in.
    const small = storage.readSmall ? await storage.readSmall(filename, SMALL_PAYLOAD_BYTES) : undefined;
    const file = small ?? (await storage.openRead(filename));
    const started = clock.now();
    const expectedBytes = file.size - offset;
    const record = (ok: boolean, bytes: number, error?: string) =>
      observer.transfer?.({
        direction: 'download', filename, bytes, expectedBytes, ok, error,
        durationMs: clock.now() - started, remote: session.remote, user: session.principal?.name,
      });
    let transferBegun = false;
    try {
      const version = publicVersion(file.versionKey);
      // 412 before 416: once the file changed, an offset into the version the
      // client holds says nothing about this one, and "start over" is the
      // answer the client can act on.
      if (ifVersion !== undefined && ifVersion !== version) throw new PreconditionFailedError();
      if (offset > file.size) {
        throw new RangeError416(`Offset ${offset} is beyond the file size ${file.size}`);
      }
      observer.transferStarted?.({ direction: 'download', filename, expectedBytes, remote: session.remote, user: session.principal?.name });
      transferBegun = true;
      channel.send({ type: 'response', code: 200, message: 'Sending file', filename, size: file.size, offset, version });
      const { bytes, sha256 } = await channel.sendFile(file, offset);
      channel.send({ type: 'transfer', code: 226, message: 'Transfer complete', bytes, sha256 });
      const from = offset > 0 ? ` from offset ${offset}` : '';
      log.info(`GET: Sent file - ${fieldForLog(fields, 'filename')} (${bytes} bytes${from} in ${clock.now() - started} ms)`);
      record(true, bytes);
    } catch (err) {
      if (err instanceof TransferAbortedError) {
        log.error(`GET: Failed to send file - ${fieldForLog(fields, 'filename')} (${err.bytesMoved} of ${expectedBytes} bytes in ${clock.now() - started} ms: ${err.message})`);
        record(false, err.bytesMoved, err.message);
      } else if (transferBegun) {
        record(false, 0, err instanceof Error ? err.message : String(err));
      }
      throw err;
    } finally {
      // Not awaited: the reply is complete, and the next command need not
      // wait a thread-pool round trip for the close.
      if ('close' in file) void file.close();
    }
  },
};

/**
 * The `version` a client sees: a digest of the storage's version key (device,
 * inode, size, mtime, ctime) so inode numbers and exact times do not leak.
 * Unkeyed on purpose: a keyed hash with a per-process secret would change on
 * every restart and fail every resume across one, and a stored secret buys
 * little, since the key's nanosecond ctime already makes guessing it back
 * impractical. 128 bits: collisions between two versions of one file are not
 * a concern.
 */
export function publicVersion(versionKey: string): string {
  return createHash('sha256').update(`ftp-server file version\0${versionKey}`).digest('hex').slice(0, 32);
}
