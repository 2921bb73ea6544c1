import type { FtpCommand } from './command';

/**
 * `ABOR`. During a transfer: the transfer stops, its command answers 426,
 * then ABOR answers 226 (RFC 959 §4.1.3). Otherwise: 226 when a data
 * connection was set up (it is closed), else 225.
 */
export const aborCommand: FtpCommand = {
  verb: 'ABOR',
  syntax: 'ABOR',
  argument: 'none',
  duringTransfer: true,
  async run({ session }) {
    const transfer = session.transfer;
    if (transfer) {
      transfer.abort('aborted by the client (ABOR)');
      await session.afterTransfer();
      return { code: 226, text: 'ABOR successful' };
    }
    if (session.data.open) {
      session.data.close();
      return { code: 226, text: 'ABOR successful; data connection closed' };
    }
    return { code: 225, text: 'No transfer to abort' };
  },
};
