import { parsePortArgument } from '../data-address';
import type { FtpCommand } from './command';
import { useActiveTarget } from './active';

/** `PORT h1,h2,h3,h4,p1,p2` (RFC 959): the next data connection goes to the client. */
export const portCommand: FtpCommand = {
  verb: 'PORT',
  syntax: 'PORT <SP> h1,h2,h3,h4,p1,p2',
  argument: 'required',
  run: (context) => useActiveTarget(context, parsePortArgument(context.arg)),
};
