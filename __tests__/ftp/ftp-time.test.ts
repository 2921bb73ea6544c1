import fc from 'fast-check';
import { formatFtpTime, mdtmReplyText, mfmtReplyText, parseFtpTime, parseMfmtArgument } from '../../src/ftp/ftp-time';

describe('formatFtpTime', () => {
  const t = new Date(Date.UTC(2024, 1, 29, 3, 4, 5, 67));

  it('writes UTC as YYYYMMDDHHMMSS, with .sss only when asked and non-zero', () => {
    expect(formatFtpTime(t)).toBe('20240229030405');
    expect(formatFtpTime(t, { millis: true })).toBe('20240229030405.067');
    expect(formatFtpTime(new Date(Date.UTC(2024, 0, 1)), { millis: true })).toBe('20240101000000');
    expect(mdtmReplyText(t)).toBe('20240229030405');
  });

  it('clamps times outside the 4-digit years and survives an invalid date', () => {
    expect(formatFtpTime(new Date(8.64e15))).toBe('99991231235959');
    expect(formatFtpTime(new Date(-8.64e15))).toBe('00000101000000');
    expect(formatFtpTime(new Date(NaN))).toBe('19700101000000');
    expect(formatFtpTime(new Date(Date.UTC(1969, 11, 31, 23, 59, 59)))).toBe('19691231235959');
  });
});

describe('parseFtpTime', () => {
  it.each([
    ['20240229030405', Date.UTC(2024, 1, 29, 3, 4, 5)],
    ['20240229030405.067', Date.UTC(2024, 1, 29, 3, 4, 5, 67)],
    ['20240229030405.5', Date.UTC(2024, 1, 29, 3, 4, 5, 500)],
    ['20240229030405.123456789', Date.UTC(2024, 1, 29, 3, 4, 5, 123)],
    ['20000229000000', Date.UTC(2000, 1, 29)],
    ['19700101000000', 0],
    ['20161231235960', Date.UTC(2016, 11, 31, 23, 59, 59, 999)],
  ])('%s', (text, ms) => {
    expect(parseFtpTime(text)?.getTime()).toBe(ms);
  });

  it('reads years 0000-0099 as such, not as 1900-1999', () => {
    expect(parseFtpTime('00500101000000')?.getUTCFullYear()).toBe(50);
  });

  it.each([
    '',
    '2024022903040',
    '202402290304055',
    '20240229030405.',
    '20240229030405.1234567890',
    '20230229000000',
    '19000229000000',
    '20241301000000',
    '20240001000000',
    '20240100000000',
    '20240431000000',
    '20240101240000',
    '20240101006000',
    '20240101000061',
    ' 20240101000000',
    '20240101000000Z',
    '2024-01-01 00:00',
    '２０２４0101000000',
  ])('refuses %j', (text) => {
    expect(parseFtpTime(text)).toBeUndefined();
  });

  it('property: format then parse is the identity to the millisecond', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (date) => {
        expect(parseFtpTime(formatFtpTime(date, { millis: true }))?.getTime()).toBe(date.getTime());
      }),
    );
  });
});

describe('MFMT', () => {
  it('splits the time from the path at exactly one space, keeping the path as sent', () => {
    expect(parseMfmtArgument('20240101120000 a b.txt')).toEqual({ time: new Date(Date.UTC(2024, 0, 1, 12)), path: 'a b.txt' });
    expect(parseMfmtArgument('20240101120000  lead')).toEqual({ time: new Date(Date.UTC(2024, 0, 1, 12)), path: ' lead' });
  });

  it.each(['', '20240101120000', '20240101120000 ', 'x a.txt', '2024010112 a.txt', '20241301120000 a.txt'])(
    'refuses %j',
    (arg) => {
      expect(parseMfmtArgument(arg)).toHaveProperty('error');
    },
  );

  it('answers with Modify=time; path', () => {
    expect(mfmtReplyText(new Date(Date.UTC(2024, 0, 1, 12)), 'a b.txt')).toBe('Modify=20240101120000; a b.txt');
  });
});
