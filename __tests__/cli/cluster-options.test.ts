/**
 * The cluster options through the real CLI entry (`main`) with
 * --print-config, in process: nothing listens. Command line, FTP_SERVER_*
 * environment and config file all reach the same settings; a Redis password
 * never shows, not in the table and not in an error; a bad value exits 2
 * with a message naming the option.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/server-cli';
import { toClusterSettings } from '../../src/cli/cluster-options';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-options-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const SECRET = 'hunter2-redis';

/** Run `ftp-server ARGS --print-config` with `env` as the only FTP_SERVER_* variables. */
async function printConfig(args: string[], env: Record<string, string> = {}) {
  const saved = Object.entries(process.env).filter(([key]) => key.startsWith('FTP_SERVER_'));
  for (const [key] of saved) delete process.env[key];
  Object.assign(process.env, env);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    // A config file in the test's own folder, so no ./ftp-server.json is picked up.
    const code = await main([...args, '--print-config', ...(args.includes('--config') ? [] : ['--config', path.join(dir, 'empty.json')])], {
      stdin: new PassThrough() as never,
      stdout,
      stderr,
    });
    return { code, out, err };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, Object.fromEntries(saved));
  }
}

beforeAll(async () => {
  await fs.writeFile(path.join(dir, 'empty.json'), '{}');
});

const row = (text: string, key: string) => text.split('\n').find((line) => line.startsWith(`${key} `));

test('command line: the Redis URL is shown with its user and password masked; every cluster option has its row', async () => {
  const { code, out, err } = await printConfig([
    '--redis-url', `redis://ops:${SECRET}@10.0.0.5:6380/2`,
    '--redis-prefix', 'cluster-a:',
    '--node-id', 'node-1',
    '--proxy-protocol',
    '--trusted-proxies', '10.0.0.0/24, 192.0.2.7',
  ]);
  expect({ code, err }).toEqual({ code: 0, err: '' });
  expect(out).not.toContain(SECRET);
  expect(row(out, 'redis-url')).toMatch(/^redis-url +"redis:\/\/\*{4}@10\.0\.0\.5:6380\/2" +command line$/);
  expect(row(out, 'redis-prefix')).toMatch(/"cluster-a:" +command line$/);
  expect(row(out, 'node-id')).toMatch(/"node-1" +command line$/);
  expect(row(out, 'proxy-protocol')).toMatch(/true +command line$/);
  expect(row(out, 'trusted-proxies')).toMatch(/"10\.0\.0\.0\/24, 192\.0\.2\.7" +command line$/);
});

test('environment and config file reach the same options; the password from the environment is masked too', async () => {
  const file = path.join(dir, 'cluster.json');
  await fs.writeFile(file, JSON.stringify({ nodeId: 'from-file', proxyProtocol: true, trustedProxies: '127.0.0.2' }));
  const { code, out } = await printConfig(['--config', file], { FTP_SERVER_REDIS_URL: `rediss://:${SECRET}@redis.internal:6379` });
  expect(code).toBe(0);
  expect(out).not.toContain(SECRET);
  expect(row(out, 'redis-url')).toMatch(/"rediss:\/\/\*{4}@redis\.internal:6379" +environment FTP_SERVER_REDIS_URL$/);
  expect(row(out, 'node-id')).toMatch(/"from-file" +config file$/);
  expect(row(out, 'trusted-proxies')).toMatch(/"127\.0\.0\.2" +config file$/);
});

test('without cluster options nothing is set and the server would start as a single node', async () => {
  const { code, out } = await printConfig([]);
  expect(code).toBe(0);
  expect(row(out, 'redis-url')).toMatch(/\(unset\) +default$/);
  expect(row(out, 'proxy-protocol')).toMatch(/false +default$/);
  expect(toClusterSettings({})).toEqual({});
});

test.each([
  [['--redis-url', `http://u:${SECRET}@host:6379`], '--redis-url must start with redis:// or rediss:// (got http://)'],
  [['--redis-url', `redis://u:${SECRET}@host:6379/abc`], '--redis-url: the database must be a number (got /abc)'],
  [['--redis-url', `not a url ${SECRET}`], '--redis-url is not a URL'],
  [['--node-id', 'n1'], '--node-id needs --redis-url'],
  [['--redis-prefix', 'p:'], '--redis-prefix needs --redis-url'],
  [['--redis-url', 'redis://127.0.0.1:6379', '--node-id', 'two words'], '--node-id must be 1-100 printable characters without spaces'],
  [['--proxy-protocol'], '--proxy-protocol needs --trusted-proxies'],
  [['--trusted-proxies', '10.0.0.0/8'], '--trusted-proxies needs --proxy-protocol'],
  [['--proxy-protocol', '--trusted-proxies', '10.0.0.0/33'], "--trusted-proxies: '10.0.0.0/33' has a prefix length outside 0-32"],
  [['--login-failure-delay', '-1'], '--login-failure-delay must be a number of seconds from 0 to 60 (got -1)'],
  [['--proxy-protocol', '--trusted-proxies', 'balancer.example'], "--trusted-proxies: 'balancer.example' is not an IP address or CIDR block"],
])('%j exits 2: %s', async (args, message) => {
  const { code, out, err } = await printConfig(args);
  expect(code).toBe(2);
  expect(err).toContain(`ftp-server: ${message}`);
  expect(`${out}${err}`).not.toContain(SECRET);
});

test('the node id defaults to hostname-pid, made printable', () => {
  expect(toClusterSettings({ 'redis-url': 'redis://127.0.0.1:6379' }, 'my host-42')).toEqual({
    redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'ftp-server:', nodeId: 'my_host-42' },
  });
});
