import { errorFromResponse, FtpError, kindForCode, localError, networkError } from '../../src/client/errors';
import { EXIT, exitCodeFor, UsageError } from '../../src/client/ui/exit-codes';
import { errorLine, formatListing, humanDuration, humanRate, humanSize } from '../../src/client/ui/format';

/** Pure text helpers and the error → exit code table. */

test('human sizes', () => {
  expect([0, 1023, 1024, 1536, 10 * 1024 * 1024 + 1, 150 * 1024 ** 3].map(humanSize))
    .toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10.0 MiB', '150 GiB']);
  expect(humanRate(2048, 1000)).toBe('2.0 KiB/s');
  expect(humanRate(10, 0)).toBe('-');
  expect([420, 12_340, 185_000].map(humanDuration)).toEqual(['0.42 s', '12.3 s', '3m05s']);
});

test('listings: names only, or a table aligned on the size column', () => {
  const entries = [
    { name: 'photos', type: 'dir' as const, size: 0, mtime: '2024-11-17T14:00:00.000Z' },
    { name: 'a.jpg', type: 'file' as const, size: 1536, mtime: '2024-11-17T14:30:22.145Z' },
    { name: 'b', type: 'file' as const, size: 7, mtime: 'not a date' },
  ];
  expect(formatListing(entries, false)).toEqual(['photos/', 'a.jpg', 'b']);
  const table = formatListing(entries, true);
  expect(table[0]).toMatch(/^dir {9}- {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}photos\/$/);
  expect(table[1]).toMatch(/^file {2}1\.5 KiB {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}a\.jpg$/);
  expect(table[2]).toBe('file      7 B  not a date  b');
});

test('each response code maps to a kind, and each kind to an exit code', () => {
  const table = [400, 401, 403, 404, 409, 413, 416, 422, 429, 500, 503, 507].map((code) => {
    const err = errorFromResponse({ code, message: 'm' }, 'x');
    return [code, err.kind, exitCodeFor(err)];
  });
  expect(table).toEqual([
    [400, 'bad_request', EXIT.FAILED], [401, 'auth', EXIT.AUTH], [403, 'forbidden', EXIT.FAILED],
    [404, 'not_found', EXIT.NOT_FOUND], [409, 'conflict', EXIT.FAILED], [413, 'too_large', EXIT.FAILED],
    [416, 'range', EXIT.FAILED], [422, 'integrity', EXIT.INTEGRITY], [429, 'refused', EXIT.REFUSED],
    [500, 'server', EXIT.FAILED], [503, 'refused', EXIT.REFUSED], [507, 'storage', EXIT.FAILED],
  ]);
  expect(kindForCode(418)).toBe('server');
  expect(exitCodeFor(new UsageError('u'))).toBe(EXIT.USAGE);
  expect(exitCodeFor(new Error('boom'))).toBe(EXIT.FAILED);
  expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
});

test('socket and file errors become one-line typed errors', () => {
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  expect(networkError(reset)).toMatchObject({ kind: 'network', code: 0, message: 'connection reset by the server', cause: reset });
  const timedOut = Object.assign(new Error('x'), { code: 'ETIMEDOUT' });
  expect(networkError(timedOut, 'cannot connect to h:1')).toMatchObject({ kind: 'timeout', message: 'cannot connect to h:1: connection timed out' });
  const missing = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
  expect(localError(missing, 'a.txt')).toMatchObject({ kind: 'local', message: 'a.txt: no such file or folder' });
  expect(errorFromResponse({ code: 404, message: '' }).message).toBe('Server answered 404 (404)');
});

test('error lines never carry a stack', () => {
  expect(errorLine('get', new FtpError('not_found', 'x: Not found (404)', 404))).toBe('get: x: Not found (404)');
  const line = errorLine('ls', new TypeError('cannot read properties of undefined'));
  expect(line).toBe('ls: unexpected error: cannot read properties of undefined');
  expect(line).not.toContain('\n');
});
