/**
 * What can go wrong in a transfer, beyond the storage's own failures. Each
 * front end turns a kind into its reply in its one table; the connection
 * level ones (a peer gone mid-payload) are {@link TransferAbortedError}s.
 */

export type TransferErrorKind =
  /** A download asked to start past the end of the file. */
  | 'offset_beyond_size'
  /** A resumed download named a version of the file that is gone. */
  | 'version_changed'
  /** The bytes that arrived are not the ones the client vouched for. */
  | 'checksum_mismatch'
  /** An upload larger than the server takes. */
  | 'upload_too_large';

/** Every kind, for tables that must prove they are complete. */
export const TRANSFER_ERROR_KINDS: readonly TransferErrorKind[] = ['offset_beyond_size', 'version_changed', 'checksum_mismatch', 'upload_too_large'];

/** A transfer refused or failed for a reason the client can act on; `message` is client-safe. */
export class TransferError extends Error {
  constructor(
    readonly kind: TransferErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

/**
 * Thrown when a payload cannot be completed and the connection must close:
 * the peer left, stalled past the transfer timeout, or the file shrank under
 * a download. After it, no frame boundary on the connection can be trusted,
 * so no reply is sent.
 */
export class TransferAbortedError extends Error {
  constructor(
    message: string,
    /** Payload bytes that did move before the abort. */
    readonly bytesMoved: number,
  ) {
    super(message);
    this.name = 'TransferAbortedError';
  }
}
