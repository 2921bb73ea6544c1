/**
 * The native port's one table from failure kinds to reply codes
 * (src/server/replies.ts), against the contract's code list (§5): every
 * kind of every layer has a code, written out here so that a change to the
 * table is a decision and not an accident; every code is one the contract
 * defines; the client maps each back to a kind a user can act on; and only
 * `io` hides its message.
 */
import { AUTH_ERROR_KINDS, AuthError } from '../../src/auth/errors';
import { kindForCode } from '../../src/client/errors';
import { TRANSFER_ERROR_KINDS, TransferAbortedError, TransferError } from '../../src/core/errors';
import type { Refusal } from '../../src/core/admission';
import { CODE_TEXT, ProtocolError } from '../../src/protocol/errors';
import { AUTH_CODES, isExpectedFailure, refusalCode, STORAGE_CODES, toNativeError, TRANSFER_CODES } from '../../src/server/replies';
import { STORAGE_ERROR_KINDS, StorageError } from '../../src/storage/errors';

/** The contract's reading of each kind (shared/PROTOCOL.md §5). */
const EXPECTED_STORAGE = {
  invalid_path: 400, // bad path
  name_too_long: 400,
  forbidden: 403, // outside the root
  permission_denied: 403, // no permission
  read_only: 403, // read-only server
  not_supported: 403,
  not_found: 404,
  exists: 409, // already exists
  not_empty: 409,
  is_folder: 409, // wrong kind
  not_folder: 409,
  invalid_move: 409,
  too_large: 413,
  no_space: 507,
  unavailable: 500,
  io: 500,
};
const EXPECTED_AUTH = { auth_required: 401, login_failed: 401, banned: 401, busy: 401, unavailable: 500 };
const EXPECTED_TRANSFER = { version_changed: 412, upload_too_large: 413, offset_beyond_size: 416, checksum_mismatch: 422 };

/** Codes a failure may be answered with: the contract's, minus the success and greeting-only ones. */
const FAILURE_CODES = Object.keys(CODE_TEXT)
  .map(Number)
  .filter((code) => code >= 400 && code !== 429 && code !== 503);

describe('the tables', () => {
  it('give every kind of every layer the code the contract means, and nothing more', () => {
    expect(STORAGE_CODES).toEqual(EXPECTED_STORAGE);
    expect(Object.keys(STORAGE_CODES).sort()).toEqual([...STORAGE_ERROR_KINDS].sort());
    expect(AUTH_CODES).toEqual(EXPECTED_AUTH);
    expect(Object.keys(AUTH_CODES).sort()).toEqual([...AUTH_ERROR_KINDS].sort());
    expect(TRANSFER_CODES).toEqual(EXPECTED_TRANSFER);
    expect(Object.keys(TRANSFER_CODES).sort()).toEqual([...TRANSFER_ERROR_KINDS].sort());
  });

  it('use only failure codes the contract defines, each of which the client reads as a kind', () => {
    const used = [...Object.values(STORAGE_CODES), ...Object.values(AUTH_CODES), ...Object.values(TRANSFER_CODES)];
    expect(used.filter((code) => !FAILURE_CODES.includes(code))).toEqual([]);
    // Only a 500 may reach the client as the catch-all 'server'.
    expect(used.filter((code) => code !== 500 && kindForCode(code) === 'server')).toEqual([]);
  });

  it('cannot be changed at run time', () => {
    for (const table of [STORAGE_CODES, AUTH_CODES, TRANSFER_CODES]) expect(Object.isFrozen(table)).toBe(true);
  });
});

describe('toNativeError', () => {
  it.each(STORAGE_ERROR_KINDS.map((kind) => [kind] as const))('StorageError %s keeps its message unless it is io', (kind) => {
    const err = toNativeError(new StorageError(kind, `text of ${kind}`, { cause: new Error('/srv/secret/path') }));
    expect(err).toBeInstanceOf(ProtocolError);
    expect({ code: err.code, message: err.message }).toEqual({
      code: EXPECTED_STORAGE[kind],
      message: kind === 'io' ? 'Internal server error' : `text of ${kind}`,
    });
  });

  it('maps auth and transfer kinds with their messages', () => {
    for (const kind of AUTH_ERROR_KINDS) {
      expect(toNativeError(new AuthError(kind, `auth ${kind}`))).toMatchObject({ code: EXPECTED_AUTH[kind], message: `auth ${kind}` });
    }
    for (const kind of TRANSFER_ERROR_KINDS) {
      expect(toNativeError(new TransferError(kind, `transfer ${kind}`))).toMatchObject({ code: EXPECTED_TRANSFER[kind], message: `transfer ${kind}` });
    }
  });

  it('passes a ProtocolError through as it is, and turns anything else into a bare 500', () => {
    const own = new ProtocolError(416, 'Offset 9 is beyond the file size 3');
    expect(toNativeError(own)).toBe(own);
    for (const thrown of [new Error('ENOENT: /srv/files/x'), Object.assign(new Error('x'), { code: 'EIO' }), 'a string', undefined, new TransferAbortedError('gone', 3)]) {
      expect(toNativeError(thrown)).toMatchObject({ code: 500, message: 'Internal server error' });
    }
  });
});

describe('isExpectedFailure', () => {
  it('is true for every typed refusal but io, and false for bugs and raw errors', () => {
    for (const kind of STORAGE_ERROR_KINDS) expect([kind, isExpectedFailure(new StorageError(kind, 'x'))]).toEqual([kind, kind !== 'io']);
    for (const kind of AUTH_ERROR_KINDS) expect(isExpectedFailure(new AuthError(kind, 'x'))).toBe(true);
    for (const kind of TRANSFER_ERROR_KINDS) expect(isExpectedFailure(new TransferError(kind, 'x'))).toBe(true);
    expect(isExpectedFailure(new ProtocolError(400, 'x'))).toBe(true);
    for (const thrown of [new Error('bug'), new TypeError('bug'), Object.assign(new Error('x'), { code: 'EMFILE' }), 'string', null]) {
      expect(isExpectedFailure(thrown)).toBe(false);
    }
  });
});

describe('refusalCode', () => {
  it('is 503 when the server is full and 429 for anything about the address', () => {
    const reasons: Array<Refusal['reason']> = ['max_connections', 'max_connections_per_ip', 'rate_limited', 'banned'];
    expect(reasons.map((reason) => [reason, refusalCode(reason)])).toEqual([
      ['max_connections', 503],
      ['max_connections_per_ip', 429],
      ['rate_limited', 429],
      ['banned', 429],
    ]);
  });
});
