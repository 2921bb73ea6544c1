/**
 * `--storage s3` through the real CLI: option checks (in-process, no server),
 * then one server child against a real S3 endpoint (s3rver) with accounts:
 * a PUT and a GET byte-exact through a user's home, the object where the
 * prefix and home say, and the credentials nowhere in the output, the log
 * file or --print-config.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { main } from '../../src/cli/server-cli';
import { writeUsers } from '../auth/auth-server';
import { RawConnection } from '../helpers/raw-connection';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';
import { spawnServer } from '../helpers/server-process';

const BIN = path.join(__dirname, '..', '..', 'bin', 'ftp-server.js');
// s3rver accepts only this key pair; the session token is ours, to prove a
// value from the environment's credentials never shows up anywhere.
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SESSION_TOKEN: 'tok-7f3e-never-print-me' };
const SECRETS = /S3RVER|tok-7f3e/;

let s3: S3Endpoint;
let dir: string;
beforeAll(async () => {
  s3 = await startS3Endpoint('cli-bucket');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-s3-cli-'));
}, 60_000);
afterAll(async () => {
  await s3?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Run main() in this process (usage errors never start a server). */
async function usage(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const sink = (add: (s: string) => void) => ({ write: (chunk: string) => (add(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
  const code = await main(args, {
    stdin: process.stdin,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
  });
  return { code, stderr, stdout };
}

it.each([
  [['--storage', 'ftp'], /storage/],
  [['--storage', 's3'], /--storage s3 needs --s3-bucket/],
  [['--s3-bucket', 'b'], /--s3-bucket needs --storage s3/],
  [['--storage', 's3', '--s3-bucket', 'has/slash'], /--s3-bucket must be a bucket name/],
  [['--storage', 's3', '--s3-bucket', 'b1', '--s3-prefix', 'a/../b'], /--s3-prefix: Invalid S3 prefix/],
  [['--storage', 's3', '--s3-bucket', 'b1', '--s3-region', 'EU WEST'], /--s3-region must be a region name/],
  [['--storage', 's3', '--s3-bucket', 'b1', '--s3-endpoint', 'ftp://host'], /--s3-endpoint must start with http/],
  [['--storage', 's3', '--s3-bucket', 'b1', '--s3-endpoint', 'not a url'], /--s3-endpoint must be a URL/],
])('refuses %j with exit code 2 and a clear message', async (args, message) => {
  const { code, stderr } = await usage(args);
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
});

it('refuses an endpoint holding credentials without echoing them, and --print-config masks them', async () => {
  const args = ['--storage', 's3', '--s3-bucket', 'b1', '--s3-endpoint', 'http://AKIAEXAMPLE:hunter2@127.0.0.1:9'];
  const refused = await usage(args);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/--s3-endpoint must not hold credentials/);
  expect(refused.stderr).not.toMatch(/AKIAEXAMPLE|hunter2/);
  const printed = await usage([...args, '--print-config']);
  expect(printed.code).toBe(2);
  expect(printed.stdout).toMatch(/^s3-endpoint\s+"http:\/\/\*\*\*\*@127\.0\.0\.1:9\/"/m);
  expect(printed.stdout + printed.stderr).not.toMatch(/AKIAEXAMPLE|hunter2/);
});

it('does not start on a bucket it cannot use: exit code 1, the reason in the log, no secret in it', async () => {
  // A key pair s3rver does not know: every request is refused (403), as with wrong keys on S3.
  const wrong: Record<string, string | undefined> = { AWS_ACCESS_KEY_ID: 'AKIDWRONG', AWS_SECRET_ACCESS_KEY: 'wrong-secret-5d1c', AWS_SESSION_TOKEN: undefined };
  const saved = Object.fromEntries(Object.keys(wrong).map((name) => [name, process.env[name]]));
  const setEnv = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  setEnv(wrong);
  const logDir = path.join(dir, 'refused-logs');
  try {
    const { code } = await usage(['--host', '127.0.0.1', '--port', '0', '--log-dir', logDir, '--storage', 's3', '--s3-bucket', s3.bucket,
      '--s3-endpoint', s3.endpoint, '--s3-region', 'us-east-1', '--s3-force-path-style']);
    expect(code).toBe(1);
  } finally {
    setEnv(saved);
  }
  const logText = (await Promise.all((await fs.readdir(logDir)).map((f) => fs.readFile(path.join(logDir, f), 'utf8')))).join('');
  expect(logText).toMatch(new RegExp(`Could not start: S3 storage s3://cli-bucket/ at ${s3.endpoint} is not usable: Permission denied by the storage \\(\\w+, HTTP 403`));
  expect(logText).not.toMatch(/listening/);
  expect(logText).not.toMatch(/wrong-secret-5d1c/);
});

it('serves a user home on S3 through the real CLI: PUT then GET byte-exact, credentials never shown', async () => {
  const usersFile = path.join(dir, 'users.json');
  await writeUsers(usersFile, [{ name: 'alice', password: 'pw-alice', home: 'alice' }]);
  // Options from a config file and the environment too, as an operator would mix them.
  await fs.writeFile(path.join(dir, 'ftp-server.json'), JSON.stringify({ 's3-prefix': 'srv', 's3-force-path-style': true }));
  const env = { ...process.env, ...CREDENTIALS, FTP_SERVER_S3_REGION: 'us-east-1' };
  const args = ['--host', '127.0.0.1', '--port', '0', '--log-dir', 'logs', '--users', usersFile,
    '--storage', 's3', '--s3-bucket', s3.bucket, '--s3-endpoint', s3.endpoint];

  const printed = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--print-config'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => resolve(out));
  });
  expect(printed).toMatch(/^storage\s+"s3"\s+command line$/m);
  expect(printed).toMatch(/^s3-prefix\s+"srv"\s+config file$/m);
  expect(printed).toMatch(/^s3-region\s+"us-east-1"\s+environment FTP_SERVER_S3_REGION$/m);
  expect(printed).not.toMatch(SECRETS);

  const server = await spawnServer(args, dir, 30_000, { env });
  let stopped = false;
  try {
    expect(server.output()).toMatch(new RegExp(`S3 storage s3://cli-bucket/srv/ at ${s3.endpoint}: reachable; aborted 0 stale multipart upload\\(s\\)`));
    await server.waitForOutput(/Serving s3:\/\/cli-bucket\/srv\/ at http/, 10_000);
    const body = randomBytes(300_000);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const { conn } = await RawConnection.open(server.port);
    expect(await conn.request('LS')).toMatchObject({ code: 401 });
    expect(await conn.request('AUTH', { username: 'alice', password: 'pw-alice' })).toMatchObject({ code: 200 });
    expect(await conn.request('PUT', { filename: 'up.bin', size: body.length, sha256 })).toMatchObject({ code: 150 });
    conn.write(body);
    expect(await conn.frame()).toMatchObject({ code: 226 });
    const header = await conn.request('GET', { filename: 'up.bin' });
    expect(header).toMatchObject({ code: 200, size: body.length });
    expect((await conn.bytes(body.length)).equals(body)).toBe(true);
    expect(await conn.frame()).toMatchObject({ sha256 });
    expect(await conn.request('QUIT')).toMatchObject({ code: 200 });
    await conn.waitClosed();

    // The object sits under prefix + home, with its digest stored beside it.
    const raw = s3.client();
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['srv/alice/', 'srv/alice/up.bin']);
    const object = await raw.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'srv/alice/up.bin' }));
    expect(object.Metadata?.sha256).toBe(sha256);
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(body)).toBe(true);

    expect(await server.stop()).toBe(0);
    stopped = true;
    const logs = await fs.readdir(path.join(dir, 'logs'));
    const logText = (await Promise.all(logs.map((f) => fs.readFile(path.join(dir, 'logs', f), 'utf8')))).join('');
    expect(logText).toMatch(/PUT: Received file - up\.bin/);
    expect(logText).not.toMatch(SECRETS);
    expect(server.output()).not.toMatch(SECRETS);
  } finally {
    if (!stopped) await server.stop().catch(() => undefined);
  }
}, 90_000);
