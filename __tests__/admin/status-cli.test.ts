import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdminServer } from '../../src/admin/admin-server';
import { MetricsObserver } from '../../src/admin/metrics';
import { combineObservers } from '../../src/admin/observers';
import { formatBytes, STATUS_EXIT, statusMain } from '../../src/cli/status-cli';
import { FileServer } from '../../src/server/file-server';
import { RawConnection } from '../helpers/raw-connection';

let base: string;
let server: FileServer;
let admin: AdminServer;

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-status-'));
  await fs.writeFile(path.join(base, 'a.txt'), 'hello');
  const metrics = new MetricsObserver({ defaultMetrics: false });
  server = await FileServer.start({ root: base, host: '127.0.0.1', port: 0, observer: combineObservers([metrics]) });
  admin = await AdminServer.start({ target: server, metrics, port: 0 });
});

afterEach(async () => {
  await server.close(1_000);
  await admin.close();
  await fs.rm(base, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = base) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  const code = await statusMain(argv, io, { env, cwd });
  return { code, stdout, stderr };
}

it('prints sessions, transfers in flight and totals', async () => {
  const { conn } = await RawConnection.open(server.port);
  try {
    await conn.request('GET', { filename: 'a.txt' });
    await conn.bytes(5);
    await conn.frame();
    const { code, stdout, stderr } = await run(['--admin-port', String(admin.port)]);
    expect(stderr).toBe('');
    expect(code).toBe(STATUS_EXIT.accepting);
    expect(stdout).toMatch(new RegExp(`^ftp-server/\\S+ at http://127\\.0\\.0\\.1:${admin.port}: accepting, up \\d+ s`));
    expect(stdout).toMatch(/^ {2}sessions {12}1 active$/m);
    expect(stdout).toMatch(/^ {2}transfers in flight {1}0$/m);
    expect(stdout).toMatch(/^ {2}downloads +1 ok, 0 failed$/m);
    expect(stdout).toMatch(/^ {2}bytes sent +5 B \(5\)$/m);
    expect(stdout).toMatch(/^ {2}connections +1 accepted; refused: none$/m);
  } finally {
    conn.close();
  }
});

it('--json prints the /status document', async () => {
  const { code, stdout } = await run(['--admin-port', String(admin.port), '--json']);
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ state: 'accepting', sessions: { active: 0 }, transfers: { in_flight: 0 } });
});

it('finds the admin port in the environment or the server\'s config file', async () => {
  expect((await run([], { FTP_SERVER_ADMIN_PORT: String(admin.port) })).code).toBe(0);
  await fs.writeFile(path.join(base, 'ftp-server.json'), JSON.stringify({ port: 5002, 'admin-port': admin.port }));
  expect((await run([])).code).toBe(0);
  await fs.writeFile(path.join(base, 'ftp-server.json'), JSON.stringify({ 'admin-prot': admin.port }));
  const bad = await run([]);
  expect(bad.code).toBe(STATUS_EXIT.usage);
  expect(bad.stderr).toMatch(/unknown key "admin-prot" \(did you mean "admin-port"\?\)/);
});

it('exits 3 while the server drains', async () => {
  const { conn } = await RawConnection.open(server.port);
  await conn.request('PUT', { filename: 'slow.bin', size: 4 });
  const closing = server.close(5_000);
  const { code, stdout } = await run(['--admin-port', String(admin.port)]);
  expect(code).toBe(STATUS_EXIT.draining);
  expect(stdout).toMatch(/: draining, up/);
  conn.write('abcd');
  await conn.frame();
  await closing;
  conn.close();
});

it('says why when there is no port or no answer', async () => {
  const none = await run([]);
  expect(none.code).toBe(STATUS_EXIT.usage);
  expect(none.stderr).toMatch(/no admin port/);
  const port = admin.port;
  await admin.close();
  const down = await run(['--admin-port', String(port)]);
  expect(down.code).toBe(STATUS_EXIT.unreachable);
  expect(down.stderr).toMatch(/cannot read http:\/\/127\.0\.0\.1:\d+\/status: connect ECONNREFUSED/);
});

it('formats sizes', () => {
  expect([0, 1023, 1024, 1536, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 GiB']);
});
