import type { FtpCommand } from './command';

/**
 * `ALLO size`: nothing to reserve here (the storage checks space when the
 * upload begins, and the size limit as the bytes arrive), so it is
 * superfluous: 202 (RFC 959 §4.1.3).
 */
export const alloCommand: FtpCommand = {
  verb: 'ALLO',
  syntax: 'ALLO <SP> <decimal-integer> [<SP> R <SP> <decimal-integer>]',
  argument: 'optional',
  run: () => ({ code: 202, text: 'ALLO not needed; ignored' }),
};
