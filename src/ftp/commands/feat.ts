import { formatFeatReply } from '../replies';
import type { FtpCommand } from './command';

/**
 * `FEAT` (RFC 2389): the extensions this listener offers, gathered from
 * the commands' own declarations, so the list says exactly what works
 * (MFMT only where the storage can set times, EPRT only with active mode
 * on, AUTH TLS only with certificates, MLST with this session's facts).
 */
export const featCommand: FtpCommand = {
  verb: 'FEAT',
  syntax: 'FEAT',
  public: true,
  argument: 'none',
  run({ services, session }) {
    const lines = new Set(services.commands.all.flatMap((command) => command.features?.(services, session) ?? []));
    return { code: 211, formatted: formatFeatReply([...lines].sort()) };
  },
};
