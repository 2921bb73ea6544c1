import type { FtpCommand } from './command';

/** `SYST`: the answer every client expects from a Unix-like server (RFC 959 §4.1.3). */
export const systCommand: FtpCommand = {
  verb: 'SYST',
  syntax: 'SYST',
  public: true,
  argument: 'none',
  run: () => ({ code: 215, text: 'UNIX Type: L8' }),
};
