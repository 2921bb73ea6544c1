import { FtpReplyError } from '../error-replies';
import { PassivePortsExhausted } from '../passive-ports';
import type { CommandContext } from './command';

/**
 * Open a passive listener for PASV/EPSV. A full `--pasv-ports` range is a
 * 425 the client may retry: ports come back as transfers finish.
 */
export async function openPassivePort({ session }: CommandContext): Promise<number> {
  try {
    return await session.data.listenPassive();
  } catch (err) {
    if (err instanceof PassivePortsExhausted) throw new FtpReplyError(425, err.message);
    throw err;
  }
}
