import type { Socket } from 'node:net';
import { AsciiSink, endAndFlush } from '../data-streams';
import { assertDataReady, runDataTransfer } from '../data-transfer';
import { FtpReplyError } from '../error-replies';
import type { FtpCommand } from './command';
import { ftpParty, recordName, takeRestOffset } from './party';
import { fileTarget } from './targets';

/**
 * `RETR path`: download, from REST's offset when one was given. The
 * transfer layer opens one version of the file (a concurrent upload never
 * mixes in), streams it with backpressure, and writes the `GET: Sent file`
 * line and the transfer record, as for the native port.
 */
export const retrCommand: FtpCommand = {
  verb: 'RETR',
  syntax: 'RETR <SP> <pathname>',
  permission: 'read',
  argument: 'required',
  logName: 'GET',
  async run(context) {
    const { session, services, storage } = context;
    assertDataReady(context);
    const offset = takeRestOffset(context);
    const ascii = session.state.type === 'A';
    if (ascii && offset > 0) throw new FtpReplyError(554, 'REST is not supported in ASCII mode: use TYPE I');
    const target = fileTarget(context);
    const filename = recordName(target.path);
    const download = await services.transfers.openDownload(storage, target.parts, { filename, offset, party: ftpParty(context) });
    try {
      const bytes = await runDataTransfer(context, {
        what: `RETR ${target.path}`,
        opening: `Opening ${ascii ? 'ASCII' : 'BINARY'} mode data connection for ${target.path} (${download.bytes} bytes)`,
        send: true,
        async move(socket, hooks) {
          if (!ascii) return (await download.sendTo(socket, hooks)).bytes;
          const sink = new AsciiSink(socket);
          // The transfer layer writes to a socket-like stream: this one converts line ends on the way.
          const sent = await download.sendTo(sink as unknown as Socket, hooks);
          await endAndFlush(sink);
          return sent.bytes;
        },
      });
      download.succeeded(bytes);
      return { code: 226, text: 'Transfer complete' };
    } catch (err) {
      download.failed(err);
      throw err;
    }
  },
};
