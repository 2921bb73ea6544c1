import { parseEprtArgument } from '../data-address';
import type { FtpCommand } from './command';
import { useActiveTarget } from './active';

/** `EPRT |proto|address|port|` (RFC 2428 §2): PORT for IPv4 and IPv6. */
export const eprtCommand: FtpCommand = {
  verb: 'EPRT',
  syntax: 'EPRT <SP> |1|h.h.h.h|port| or |2|ipv6|port|',
  argument: 'required',
  features: ({ policy }) => (policy.activeAllowed ? ['EPRT'] : []),
  run: (context) => useActiveTarget(context, parseEprtArgument(context.arg)),
};
