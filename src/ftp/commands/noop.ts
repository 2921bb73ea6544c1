import type { FtpCommand } from './command';

/** `NOOP`: keeps the connection alive (it counts as activity for the idle timeout). */
export const noopCommand: FtpCommand = {
  verb: 'NOOP',
  syntax: 'NOOP',
  public: true,
  argument: 'none',
  run: () => ({ code: 200, text: 'NOOP ok' }),
};
