import type { FtpCommand } from './command';

/**
 * `QUIT`. During a transfer the transfer finishes first (RFC 959 §4.1.1:
 * the connection stays open for its result), then 221 and the close.
 */
export const quitCommand: FtpCommand = {
  verb: 'QUIT',
  syntax: 'QUIT',
  public: true,
  argument: 'none',
  duringTransfer: true,
  async run({ session }) {
    session.log.info(`Client ${session.remote} requested disconnect`);
    session.endAfterReply('client quit');
    await session.afterTransfer();
    return { code: 221, text: 'Goodbye' };
  },
};
