import type { Readable, Writable } from 'node:stream';
import type { GetOptions, GetResult, PutOptions, PutResult } from './transfers';

/**
 * The part of the client the file helpers (`file-transfers.ts`) use: one
 * download and one upload over the wire. `FtpClient` implements it; the
 * helpers depend on this, not on the client class that uses them.
 */
export interface FtpClient {
  get(remote: string, dest: Writable, options?: GetOptions): Promise<GetResult>;
  put(remote: string, source: Readable, size: number, options?: PutOptions): Promise<PutResult>;
}
