import { IntegrityError, TooLargeError, toStorageWriteError } from '../../protocol/errors';
import { nonNegativeInteger, optionalSha256, requireString } from '../../protocol/messages';
import { TransferAbortedError } from '../payload';
import type { CommandHandler } from './command';
import { fieldForLog } from './command';

export const putCommand: CommandHandler = {
  name: 'PUT',
  syntax: 'filename size [sha256]',
  permission: 'write',
  description: 'Upload a file; it replaces the target atomically once every byte arrived',
  target: (fields) => fieldForLog(fields, 'filename'),
  async run({ fields, storage, channel, log, limits, clock, digests, observer, session }) {
    const filename = requireString(fields, 'filename');
    const size = nonNegativeInteger(fields, 'size');
    const expectedSha256 = optionalSha256(fields, 'sha256');
    const shown = fieldForLog(fields, 'filename');
    if (size > limits.maxUploadSize) {
      throw new TooLargeError(`Upload of ${size} bytes exceeds the limit of ${limits.maxUploadSize}`);
    }
    const upload = await storage.beginUpload(filename, size);
    const started = clock.now();
    const record = (ok: boolean, bytes: number, error?: string) =>
      observer.transfer?.({
        direction: 'upload', filename, bytes, expectedBytes: size, ok, error,
        durationMs: clock.now() - started, remote: session.remote, user: session.principal?.name,
      });
    let committed = false;
    observer.transferStarted?.({ direction: 'upload', filename, expectedBytes: size, remote: session.remote, user: session.principal?.name });
    try {
      channel.send({ type: 'response', code: 150, message: 'Ready to receive' });
      const received = await channel.receive(size, upload.stream);
      if (received.hashError !== undefined) {
        // The hash thread died: the bytes cannot be vouched for, so none are kept (a 500, logged with its cause).
        throw received.hashError;
      }
      if (received.sinkError !== undefined) {
        // The payload was read to its end, so the connection goes on.
        throw toStorageWriteError(received.sinkError);
      }
      if (expectedSha256 !== undefined && expectedSha256 !== received.sha256) {
        throw new IntegrityError('Checksum mismatch: upload discarded');
      }
      const { versionKey } = await upload.commit();
      committed = true;
      // The digest of these bytes is known now: a later GET need not hash them again.
      digests.set(versionKey, received.sha256);
      log.info(`PUT: Received file - ${shown} (${size} bytes in ${clock.now() - started} ms)`);
      record(true, size);
      return { code: 226, message: 'File received', filename, bytes_received: size, sha256: received.sha256 };
    } catch (err) {
      // Refusals (422, 507) are logged by the session like any other answer;
      // a payload that never arrived whole is this command's own failure.
      if (err instanceof TransferAbortedError) {
        log.error(
          `PUT: Failed to receive file - ${shown} (${err.bytesMoved} of ${size} bytes in ${clock.now() - started} ms: ${err.message})`,
        );
        record(false, err.bytesMoved, err.message);
      } else {
        record(false, size, err instanceof Error ? err.message : String(err));
      }
      throw err;
    } finally {
      if (!committed) await upload.abort();
    }
  },
};
