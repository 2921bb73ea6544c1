import { RangeError416 } from '../../protocol/errors';
import { nonNegativeInteger, requireString } from '../../protocol/messages';
import { TransferAbortedError } from '../payload';
import { SMALL_PAYLOAD_BYTES } from '../session-transfers';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const getCommand: CommandHandler = {
  name: 'GET',
  syntax: 'filename [offset]',
  permission: 'read',
  description: 'Download a file, from byte `offset` when resuming',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage, channel, log, clock, observer, session }) {
    const filename = requireString(fields, 'filename');
    const offset = nonNegativeInteger(fields, 'offset', 0);
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
      if (offset > file.size) {
        throw new RangeError416(`Offset ${offset} is beyond the file size ${file.size}`);
      }
      observer.transferStarted?.({ direction: 'download', filename, expectedBytes, remote: session.remote, user: session.principal?.name });
      transferBegun = true;
      channel.send({ type: 'response', code: 200, message: 'Sending file', filename, size: file.size, offset });
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
