import {
  STORAGE_ERROR_KINDS,
  storageErrorReply,
  TRANSIENT_KINDS,
  type StorageErrorKind,
} from '../../src/ftp/storage-replies';

/**
 * Error replies RFC 959 §5.4 lists per command (421/530/500/502 left out:
 * they are never storage outcomes). Typed in from the RFC, not from the
 * module, so the test is an independent reading.
 */
const RFC959_ERRORS: Record<string, number[]> = {
  CWD: [501, 550],
  CDUP: [501, 550],
  RETR: [450, 451, 550, 501],
  STOR: [450, 451, 452, 552, 553, 532, 551, 501],
  STOU: [450, 451, 452, 552, 553, 532, 551, 501],
  APPE: [450, 451, 452, 550, 551, 552, 553, 532, 501],
  RNFR: [450, 550, 501],
  RNTO: [532, 553, 501, 503],
  DELE: [450, 550, 501],
  RMD: [550, 501],
  MKD: [550, 501],
  LIST: [450, 451, 501],
  NLST: [450, 451, 501],
  STAT: [450, 501],
};

/** RFC 3659 §2.4 and the MFMT/HASH drafts: any 4yz or 5yz error reply. */
const ANY_ERROR = ['SIZE', 'MDTM', 'MLST', 'MLSD', 'MFMT', 'HASH'];

/** Deviations the module documents (the meaning wins where the list has no fitting code). */
const DOCUMENTED_EXCEPTIONS: Record<string, number[]> = {
  CWD: [450],
  CDUP: [450],
  MKD: [450, 452, 553],
  RMD: [450],
  RNTO: [450, 452, 550],
  LIST: [550],
  NLST: [550],
  STAT: [451, 550],
  STOR: [550],
  STOU: [550],
};

/** Codes of the native port's table that mean something else in FTP or nothing at all. */
const NATIVE_ONLY = [400, 401, 403, 404, 409, 413, 416, 422, 429, 507];

const VERBS = [...Object.keys(RFC959_ERRORS), ...ANY_ERROR];

describe('storageErrorReply', () => {
  it.each(VERBS)('%s: every kind gets an FTP code of the right class, from the RFC list or a documented exception', (verb) => {
    for (const kind of STORAGE_ERROR_KINDS) {
      const { code, text } = storageErrorReply(kind, verb);
      expect({ kind, class: Math.floor(code / 100) }).toEqual({ kind, class: TRANSIENT_KINDS.has(kind) ? 4 : 5 });
      expect(NATIVE_ONLY).not.toContain(code);
      if (!ANY_ERROR.includes(verb)) {
        const allowed = [...(RFC959_ERRORS[verb] ?? []), ...(DOCUMENTED_EXCEPTIONS[verb] ?? [])];
        expect({ verb, kind, code, allowed: allowed.includes(code) }).toEqual({ verb, kind, code, allowed: true });
      }
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toMatch(/[\r\n]/);
    }
  });

  it('tells apart a full disk (452, may clear) from going over the size limit (552) on upload', () => {
    for (const verb of ['STOR', 'STOU', 'APPE']) {
      expect(storageErrorReply('no_space', verb).code).toBe(452);
      expect(storageErrorReply('too_large', verb).code).toBe(552);
      expect(storageErrorReply('invalid_path', verb).code).toBe(553);
      expect(storageErrorReply('is_folder', verb).code).toBe(553);
      expect(storageErrorReply('unavailable', verb).code).toBe(451);
    }
  });

  it.each([
    ['not_found', 'RETR', 550],
    ['is_folder', 'RETR', 550],
    ['invalid_path', 'RETR', 501],
    ['unavailable', 'RETR', 451],
    ['not_found', 'CWD', 550],
    ['not_folder', 'CWD', 550],
    ['exists', 'MKD', 550],
    ['invalid_path', 'MKD', 553],
    ['not_empty', 'RMD', 550],
    ['unavailable', 'RNFR', 450],
    ['io', 'DELE', 450],
    ['exists', 'RNTO', 553],
    ['not_found', 'RNTO', 550],
    ['forbidden', 'RETR', 550],
    ['forbidden', 'STOR', 553],
    ['permission_denied', 'STOR', 550],
    ['not_found', 'SIZE', 550],
    ['not_found', 'LIST', 550],
  ] as Array<[StorageErrorKind, string, number]>)('%s on %s -> %d', (kind, verb, code) => {
    expect(storageErrorReply(kind, verb).code).toBe(code);
  });

  it('gives a command it does not know the default (reading) replies', () => {
    expect(storageErrorReply('not_found', 'XYZW')).toEqual(storageErrorReply('not_found', 'RETR'));
  });

  it('marks exactly the kinds that can clear up by themselves as transient', () => {
    expect([...TRANSIENT_KINDS].sort()).toEqual(['io', 'no_space', 'unavailable']);
  });
});
