import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { declareOperationsOptions, toOperationsSettings } from '../../src/admin/options';
import { declareServerOptions, toServerSettings } from '../../src/cli/server-options';
import {
  applyConfigFile,
  CONFIG_FILE_NAME,
  ConfigError,
  formatEffectiveConfig,
  loadConfigFile,
  locateConfigFile,
  maskCredentials,
  parseConfigText,
  schemaFromYargs,
  type ConfigSchema,
} from '../../src/config/config-file';

let dir: string;
beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ftp-config-'));
});
afterEach(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

/** The real server parser, plus a secret option the accounts work may add. */
function serverParser(argv: string[]) {
  return declareOperationsOptions(declareServerOptions(yargs(argv)))
    .option('tls-passphrase', { type: 'string', describe: 'test-only secret' })
    .env('FTP_SERVER')
    .strict()
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new Error(message);
    });
}

const schema: ConfigSchema = schemaFromYargs(serverParser([]));
const FILE = '/etc/ftp-server/ftp-server.json';

/** Run the parser as the CLI would, with `env` as the only FTP_SERVER_* variables. */
async function resolve(argv: string[], env: Record<string, string>, cwd = dir) {
  // Edited in place: yargs holds on to the process.env object itself.
  const saved = Object.entries(process.env).filter(([key]) => key.startsWith('FTP_SERVER_'));
  for (const [key] of saved) delete process.env[key];
  Object.assign(process.env, env);
  try {
    const parser = serverParser(argv);
    const loaded = applyConfigFile(parser, argv, process.env, cwd);
    const args = (await parser.parse()) as unknown as Record<string, unknown>;
    return { args, loaded };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, Object.fromEntries(saved));
  }
}

describe('the schema', () => {
  it('comes from the declared options, with types and choices, and leaves out CLI-only ones', () => {
    expect(schema.port).toEqual({ type: 'number' });
    expect(schema.host).toEqual({ type: 'string' });
    expect(schema['transfer-log']).toEqual({ type: 'boolean' });
    expect(schema['log-level']).toEqual({ type: 'string', choices: ['debug', 'info', 'warn', 'error'] });
    expect(schema['log-format']).toEqual({ type: 'string', choices: ['classic', 'json'] });
    for (const key of ['config', 'print-config', 'help', 'version']) expect(schema).not.toHaveProperty(key);
  });
});

describe('validation', () => {
  it.each([
    ['{"prot": 5002}', /ftp-server\.json: unknown key "prot" \(did you mean "port"\?\)/],
    ['{"colour": true}', /unknown key "colour"$/],
    ['{"port": "5002"}', /"port" must be a number \(got the string "5002"\)/],
    ['{"port": null}', /"port" must be a number \(got null\)/],
    ['{"host": 5}', /"host" must be a string \(got number 5\)/],
    ['{"transfer-log": "yes"}', /"transfer-log" must be true or false/],
    ['{"log-level": "loud"}', /"log-level" must be one of "debug", "info", "warn", "error" \(got the string "loud"\)/],
    ['{"log-format": "xml"}', /"log-format" must be one of "classic", "json"/],
    ['{"config": "other.json"}', /"config" cannot be set in a config file/],
    ['{"__proto__": 1}', /unknown key "__proto__"/],
    ['{"toString": "x"}', /unknown key "toString"/],
    ['{"maxConnections": 5, "max-connections": 6}', /"max-connections" is given twice/],
    ['[1, 2]', /must hold one JSON object/],
    ['"port"', /must hold one JSON object/],
  ])('refuses %s naming the key', (text, message) => {
    const run = () => parseConfigText(text, schema, FILE);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });

  it('refuses text that is not JSON, with the file name', () => {
    expect(() => parseConfigText('{"port": 5002,}', schema, FILE)).toThrow(/\/etc\/ftp-server\/ftp-server\.json: not valid JSON/);
  });

  it('accepts camelCase keys and resolves relative paths against the file', () => {
    const values = parseConfigText(
      JSON.stringify({ maxConnections: 5, root: 'files', 'log-dir': '/var/log/ftp-server', host: 'files' }),
      schema,
      FILE,
    );
    expect(values).toEqual({
      'max-connections': 5,
      root: '/etc/ftp-server/files',
      'log-dir': '/var/log/ftp-server',
      host: 'files',
    });
  });

  it('says which file it could not read', () => {
    expect(() => loadConfigFile(path.join(dir, 'missing.json'), schema)).toThrow(/cannot read config file .*missing\.json: ENOENT/);
  });

  it('a bad range in the file is refused by the settings check with the key name', async () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), JSON.stringify({ port: 70000, 'admin-port': 1.5 }));
    const { args } = await resolve([], {});
    expect(() => toServerSettings(args as never)).toThrow(/--port must be a whole number from 0 to 65535 \(got 70000\)/);
    expect(() => toOperationsSettings(args as never)).toThrow(/--admin-port must be a whole number/);
  });
});

describe('locating the file', () => {
  const none = () => false;
  it('prefers --config, then FTP_SERVER_CONFIG, then ./ftp-server.json when it exists', () => {
    expect(locateConfigFile(['--config', 'a.json'], { FTP_SERVER_CONFIG: 'b.json' }, '/w', none)).toEqual({ file: '/w/a.json', explicit: true });
    expect(locateConfigFile(['--config=/x/a.json'], {}, '/w', none)).toEqual({ file: '/x/a.json', explicit: true });
    expect(locateConfigFile([], { FTP_SERVER_CONFIG: 'b.json' }, '/w', none)).toEqual({ file: '/w/b.json', explicit: true });
    expect(locateConfigFile([], {}, '/w', none)).toBeUndefined();
    expect(locateConfigFile([], {}, '/w', (f) => f === '/w/ftp-server.json')).toEqual({ file: '/w/ftp-server.json', explicit: false });
    expect(locateConfigFile(['--', '--config', 'a.json'], {}, '/w', none)).toBeUndefined();
  });

  it('a named file must exist', async () => {
    await expect(resolve(['--config', 'nope.json'], {})).rejects.toThrow(/cannot read config file .*nope\.json/);
  });
});

describe('precedence: command line > environment > file > defaults', () => {
  beforeEach(() => {
    fs.writeFileSync(
      path.join(dir, CONFIG_FILE_NAME),
      JSON.stringify({
        port: 2121,
        'max-connections': 7,
        'log-level': 'warn',
        'idle-timeout': 60,
        root: 'served',
        'tls-passphrase': 'from-file-secret',
      }),
    );
  });

  it('resolves each value from the highest source that sets it, and says which', async () => {
    const { args, loaded } = await resolve(['--log-level', 'error', '--adminPort=9102'], {
      FTP_SERVER_MAX_CONNECTIONS: '8',
      FTP_SERVER_LOG_LEVEL: 'debug',
      FTP_SERVER_IDLE_TIMEOUT: '90',
    });
    expect(args.port).toBe(2121); // file over default
    expect(args['max-connections']).toBe(8); // env over file
    expect(args['idle-timeout']).toBe(90); // env over file
    expect(args['log-level']).toBe('error'); // argv over env and file
    expect(args['admin-port']).toBe(9102); // argv (camelCase spelling)
    expect(args.host).toBe('0.0.0.0'); // default
    expect(args.root).toBe(path.join(dir, 'served'));
    expect(loaded.file).toBe(path.join(dir, CONFIG_FILE_NAME));
    expect(loaded.sources).toMatchObject({
      port: { kind: 'config file' },
      'max-connections': { kind: 'environment', variable: 'FTP_SERVER_MAX_CONNECTIONS' },
      'log-level': { kind: 'command line' },
      'admin-port': { kind: 'command line' },
      host: { kind: 'default' },
      root: { kind: 'config file' },
    });

    // The settings the server would run with.
    const settings = toServerSettings(args as never);
    expect(settings.port).toBe(2121);
    expect(settings.limits.maxConnections).toBe(8);
    expect(settings.limits.idleTimeoutMs).toBe(90_000);

    const text = formatEffectiveConfig(args, loaded);
    const line = (key: string) => text.split('\n').find((l) => l.startsWith(`${key} `));
    expect(text).toContain(`# config file: ${path.join(dir, CONFIG_FILE_NAME)}`);
    expect(line('port')).toMatch(/^port +2121 +config file$/);
    expect(line('max-connections')).toMatch(/^max-connections +8 +environment FTP_SERVER_MAX_CONNECTIONS$/);
    expect(line('log-level')).toMatch(/^log-level +"error" +command line$/);
    expect(line('host')).toMatch(/^host +"0\.0\.0\.0" +default$/);
    expect(line('tls-passphrase')).toMatch(/^tls-passphrase +"\*{8}" +config file$/);
    expect(text).not.toContain('from-file-secret');
  });

  it('masks a secret given in the environment too', async () => {
    const { args, loaded } = await resolve([], { FTP_SERVER_TLS_PASSPHRASE: 'env-secret' });
    const text = formatEffectiveConfig(args, loaded);
    expect(text).toMatch(/^tls-passphrase +"\*{8}" +environment FTP_SERVER_TLS_PASSPHRASE$/m);
    expect(text).not.toContain('env-secret');
  });

  it('without a file, everything not given is a default', async () => {
    fs.rmSync(path.join(dir, CONFIG_FILE_NAME));
    const { args, loaded } = await resolve(['--port', '0'], {});
    expect(loaded.file).toBeUndefined();
    expect(args.port).toBe(0);
    expect(args['log-level']).toBe('info');
    expect(Object.entries(loaded.sources).filter(([, s]) => s.kind !== 'default').map(([k]) => k)).toEqual(['port']);
    expect(formatEffectiveConfig(args, loaded)).toMatch(/^# config file: none/m);
    expect(formatEffectiveConfig(args, loaded)).toMatch(/^admin-port +\(unset\) +default$/m);
  });

  it('--no-transfer-log on the command line beats the file, and env booleans parse', async () => {
    fs.writeFileSync(path.join(dir, CONFIG_FILE_NAME), JSON.stringify({ 'transfer-log': true, 'log-format': 'json' }));
    const cli = await resolve(['--no-transfer-log'], {});
    expect(toOperationsSettings(cli.args as never)).toMatchObject({ transferLog: false, logFormat: 'json' });
    expect(cli.loaded.sources['transfer-log']).toEqual({ kind: 'command line' });
    const env = await resolve([], { FTP_SERVER_TRANSFER_LOG: 'false', FTP_SERVER_LOG_FORMAT: 'classic' });
    expect(toOperationsSettings(env.args as never)).toMatchObject({ transferLog: false, logFormat: 'classic' });
  });
});

describe('the shipped example', () => {
  it('deploy/ftp-server.example.json is a valid config for the current options', async () => {
    const file = path.join(__dirname, '..', '..', 'deploy', 'ftp-server.example.json');
    const values = loadConfigFile(file, schema);
    expect(values).toMatchObject({ port: 5002, 'admin-port': 9102, 'admin-host': '127.0.0.1' });
    fs.copyFileSync(file, path.join(dir, CONFIG_FILE_NAME));
    const { args } = await resolve([], {});
    expect(toServerSettings(args as never).root).toBe('/srv/ftp-server/files');
    expect(toOperationsSettings(args as never)).toEqual({ adminPort: 9102, adminHost: '127.0.0.1', logFormat: 'classic', transferLog: true });
  });
});

describe('credentials inside URL values', () => {
  it('are masked for --print-config, whatever the key is called; other values pass unchanged', () => {
    expect(maskCredentials('http://AKIAEXAMPLE:hunter2@minio.internal:9000')).toBe('http://****@minio.internal:9000/');
    expect(maskCredentials('redis://:s3cret@10.0.0.5:6379/0')).toBe('redis://****@10.0.0.5:6379/0');
    expect(maskCredentials('redis://10.0.0.5:6379')).toBe('redis://10.0.0.5:6379');
    expect(maskCredentials('ops@example.org')).toBe('ops@example.org');
    expect(maskCredentials(5002)).toBe(5002);
  });
});
