/**
 * The FTP port's one table from failures to replies: complete over every
 * kind of every layer, FTP codes only (no native code can leak onto a
 * control connection), 4xx for what may clear up and 5xx for what will
 * not, and 421 (which closes the connection) only where it says so.
 */
import { AUTH_ERROR_KINDS, AuthError } from '../../src/auth/errors';
import { TRANSFER_ERROR_KINDS, TransferAbortedError, TransferError } from '../../src/core/errors';
import { FTP_COMMANDS } from '../../src/ftp/commands';
import { AUTH_REPLIES, failureReply, FtpReplyError, TRANSFER_REPLIES } from '../../src/ftp/error-replies';
import { FtpPathError } from '../../src/ftp/ftp-paths';
import { STORAGE_ERROR_KINDS, StorageError } from '../../src/storage/errors';
import { ProtocolError } from '../../src/protocol/errors';

/**
 * Every reply code RFC 959 §4.2.2 and its successors define (RFC 2228,
 * RFC 2428, RFC 3659, RFC 4217), typed in from the RFCs. The native
 * port's 400/401/403/404/409/412/413/416/422/429/507 are not among them.
 */
const FTP_ERROR_CODES = new Set([
  421, 425, 426, 450, 451, 452, // RFC 959 transient
  500, 501, 502, 503, 504, 530, 532, 550, 551, 552, 553, // RFC 959 permanent
  521, 522, // RFC 4217, RFC 2428
  533, 534, 535, 536, // RFC 2228
  554, // RFC 3659 §5.5 (REST)
]);

const NATIVE_CODES = [400, 401, 403, 404, 409, 412, 413, 416, 422, 429, 500, 503, 507];

/** Every verb of the port, aliases included. */
const VERBS = FTP_COMMANDS.flatMap((command) => [command.verb, ...(command.aliases ?? [])]);

describe('failureReply', () => {
  it('maps every storage kind, for every verb, to an FTP code whose class says whether a retry may work', () => {
    for (const verb of VERBS) {
      for (const kind of STORAGE_ERROR_KINDS) {
        const outcome = failureReply(new StorageError(kind, 'm'), verb);
        expect(FTP_ERROR_CODES.has(outcome.code)).toBe(true);
        const transient = kind === 'no_space' || kind === 'unavailable' || kind === 'io';
        expect({ verb, kind, class: Math.floor(outcome.code / 100) }).toEqual({ verb, kind, class: transient ? 4 : 5 });
        expect(outcome.close).toBeFalsy();
      }
    }
  });

  it('maps every auth kind: 530 for a wrong login, 421 and the close for the ones that mean "not now"', () => {
    expect(Object.keys(AUTH_REPLIES).sort()).toEqual([...AUTH_ERROR_KINDS].sort());
    const seen = AUTH_ERROR_KINDS.map((kind) => {
      const { code, close } = failureReply(new AuthError(kind, 'm'), 'PASS');
      expect(FTP_ERROR_CODES.has(code)).toBe(true);
      // RFC 959: 421 is "service not available, closing control connection".
      expect(close === true).toBe(code === 421);
      return [kind, code];
    });
    expect(Object.fromEntries(seen)).toEqual({ auth_required: 530, login_failed: 530, banned: 421, busy: 421, unavailable: 421 });
  });

  it('maps every transfer kind to an FTP code', () => {
    expect(Object.keys(TRANSFER_REPLIES).sort()).toEqual([...TRANSFER_ERROR_KINDS].sort());
    for (const kind of TRANSFER_ERROR_KINDS) {
      expect(FTP_ERROR_CODES.has(failureReply(new TransferError(kind, 'm'), 'RETR').code)).toBe(true);
    }
    expect(failureReply(new TransferError('upload_too_large', 'm'), 'STOR').code).toBe(552);
    expect(failureReply(new TransferError('offset_beyond_size', 'm'), 'RETR').code).toBe(554);
  });

  it('answers an aborted transfer 426, a path refused by the rules from the storage table, its own refusals as given', () => {
    expect(failureReply(new TransferAbortedError('client left', 3), 'RETR')).toMatchObject({ code: 426, expected: true });
    expect(failureReply(new FtpPathError('invalid_path', 'bad'), 'STOR').code).toBe(553);
    expect(failureReply(new FtpPathError('invalid_path', 'bad'), 'RETR').code).toBe(501);
    expect(failureReply(new FtpReplyError(425, 'no data connection'), 'RETR')).toMatchObject({ code: 425, text: 'no data connection' });
  });

  it('answers anything unexpected 451 (local error), never a native 500 or its message', () => {
    for (const err of [new Error('boom /srv/secret'), new ProtocolError(404, 'Not found'), 'a string', undefined]) {
      const outcome = failureReply(err, 'RETR');
      expect(outcome).toMatchObject({ code: 451, expected: false, text: 'Requested action aborted: local error in processing' });
    }
  });

  it('never lets a native code through, whatever the layer', () => {
    const failures: unknown[] = [
      ...STORAGE_ERROR_KINDS.map((kind) => new StorageError(kind, 'm')),
      ...AUTH_ERROR_KINDS.map((kind) => new AuthError(kind, 'm')),
      ...TRANSFER_ERROR_KINDS.map((kind) => new TransferError(kind, 'm')),
      new TransferAbortedError('m', 0),
      new Error('m'),
    ];
    for (const verb of VERBS) {
      for (const err of failures) {
        const { code } = failureReply(err, verb);
        // 500 and 503 are FTP codes too, but no failure of a layer may become one: they mean "bad command".
        expect({ verb, code, native: NATIVE_CODES.includes(code) }).toEqual({ verb, code, native: false });
      }
    }
  });

  it('keeps the storage\'s own message where it says who may not or what cannot be done, and hides io details', () => {
    expect(failureReply(new StorageError('permission_denied', 'Permission denied: replacing a file needs delete'), 'STOR').text).toBe(
      'Permission denied: replacing a file needs delete',
    );
    const io = failureReply(new StorageError('io', 'EIO at /srv/disk3/x'), 'RETR');
    expect(io.text).not.toContain('/srv');
    expect(io.expected).toBe(false);
  });
});
