/**
 * What STOR, APPE and STOU share: the upload through the transfer layer
 * (size limit, atomic publish, digest, the `PUT: Received file` line and
 * the transfer record) with the bytes read from the data connection until
 * the client closes it.
 */
import { pipeline } from 'node:stream';
import type { Socket } from 'node:net';
import type { ChunkSource } from '../../core/payload';
import type { StoragePath } from '../../storage/path-rules';
import { CrlfToLf } from '../ascii';
import { readableSource } from '../data-streams';
import { runDataTransfer } from '../data-transfer';
import type { CommandContext, CommandReply } from './command';
import { ftpParty, recordName } from './party';

/** How one upload command stores its file. */
export interface UploadPlan {
  /** Clean absolute path of the target. */
  path: string;
  parts: StoragePath;
  /** Keep bytes `[0, offset)` of the existing file and write from there (APPE, REST+STOR). */
  offset: number;
  /** May an existing file be replaced (or cut at the offset)? */
  replace: boolean;
  /** The 150 text. */
  opening: string;
  /** The 226 text. */
  done: string;
}

/** The data connection's bytes, through the TYPE A converter when the session asked for ASCII. */
function uploadSource(context: CommandContext, socket: Socket): ChunkSource {
  if (context.session.state.type !== 'A') return readableSource(socket);
  const converter = new CrlfToLf();
  // pipeline destroys the converter when the socket closes without an end,
  // so an aborted upload reads as aborted through it too.
  pipeline(socket, converter, () => undefined);
  return readableSource(converter);
}

/** Receive the upload `plan` describes; see the module comment. */
export async function receiveUpload(context: CommandContext, verb: string, plan: UploadPlan): Promise<CommandReply> {
  const { services, storage } = context;
  const upload = await services.transfers.beginUpload(storage, plan.parts, {
    filename: recordName(plan.path),
    offset: plan.offset,
    replace: plan.replace,
    party: ftpParty(context),
  });
  try {
    await runDataTransfer(context, {
      what: `${verb} ${plan.path}`,
      opening: plan.opening,
      send: false,
      move: (socket, hooks) => upload.receive(uploadSource(context, socket), hooks),
    });
    await upload.commit();
    return { code: 226, text: plan.done };
  } catch (err) {
    await upload.failed(err);
    throw err;
  }
}
