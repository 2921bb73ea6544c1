import fs from 'node:fs/promises';
import path from 'node:path';
import { complete } from '../../src/client/shell/completer';
import { ClientSession } from '../../src/client/shell/session';
import { Collector, startServer, type TestServer } from './helpers';

/** Tab completion of commands, remote names (real server) and local names. */

let srv: TestServer;
let session: ClientSession;

beforeAll(async () => {
  srv = await startServer();
  await fs.mkdir(path.join(srv.root, 'photos'));
  await fs.writeFile(path.join(srv.root, 'photos', 'beach.jpg'), 'x');
  await fs.writeFile(path.join(srv.root, 'photos', 'my trip.jpg'), 'x');
  await fs.writeFile(path.join(srv.root, 'report.pdf'), 'x');
  await fs.writeFile(path.join(srv.local, 'notes.txt'), 'x');
  await fs.mkdir(path.join(srv.local, 'sub'));
  session = new ClientSession({
    host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, localDir: srv.local,
    stdout: new Collector(), stderr: new Collector(), progress: false, json: false,
  });
});

afterAll(async () => {
  await session.close();
  await srv.close();
});

test('the first word completes to commands, whatever the case', async () => {
  expect(await complete(session, 'g')).toEqual([['get '], 'g']);
  expect(await complete(session, 'RM')).toEqual([['rm ', 'rmdir '], 'RM']);
  expect((await complete(session, ''))[0]).toEqual(expect.arrayContaining(['ls ', 'get ', 'put ', 'quit ', 'help ']));
});

test('remote arguments complete to remote names; folders end with /', async () => {
  expect(await complete(session, 'get r')).toEqual([['report.pdf '], 'r']);
  expect(await complete(session, 'ls ')).toEqual([['photos/', 'report.pdf '], '']);
  expect(await complete(session, 'GET photos/')).toEqual([['photos/beach.jpg ', 'photos/my\\ trip.jpg '], 'photos/']);
  expect(await complete(session, 'get "photos/my')).toEqual([['photos/my\\ trip.jpg '], '"photos/my']);
  expect(await complete(session, 'get -c rep')).toEqual([['report.pdf '], 'rep']);
});

test('local arguments complete to local names; the second put argument is remote', async () => {
  expect(await complete(session, 'put n')).toEqual([['notes.txt '], 'n']);
  expect(await complete(session, 'lcd s')).toEqual([['sub/'], 's']);
  expect(await complete(session, 'put notes.txt ph')).toEqual([['photos/'], 'ph']);
  expect(await complete(session, 'get report.pdf no')).toEqual([['notes.txt '], 'no']);
});

test('nothing to offer is an empty list, not an error', async () => {
  expect(await complete(session, 'pwd x')).toEqual([[], 'x']);
  expect(await complete(session, 'ls missing/')).toEqual([[], 'missing/']);
  expect(await complete(session, 'nosuch x')).toEqual([[], 'x']);
});
