import fs from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import { Parser } from 'yargs/helpers';

/**
 * The config file: `ftp-server.json` in the working directory, or the file
 * named by `--config FILE` / `FTP_SERVER_CONFIG`. A flat JSON object whose
 * keys are the long option names (`"max-connections": 500`; camelCase is
 * accepted too). Precedence: command line > environment > file > defaults.
 *
 * Why we load it ourselves rather than with yargs' `.config('config')`: a
 * file that is merely looked for in the working directory is not an option
 * yargs knows, yargs would accept unknown keys and values of the wrong
 * type silently, and `--print-config` needs to know where each value came
 * from. The validated values are then handed to yargs as a config object,
 * which yargs-parser ranks below env vars and argv and above defaults
 * (since yargs-parser 5 / yargs 8; checked here with 17.7.3).
 */

/** Name looked for in the working directory. */
export const CONFIG_FILE_NAME = 'ftp-server.json';
/** Prefix of the environment variables (`FTP_SERVER_PORT`), as in `.env('FTP_SERVER')`. */
export const ENV_PREFIX = 'FTP_SERVER';
/** A config file is small; this bounds what a wrong `--config /dev/zero` reads. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Options that make no sense inside the file. */
const NOT_IN_FILE = new Set(['config', 'print-config', 'help', 'version']);

/**
 * Options holding paths: a relative path in the file is taken relative to
 * the file's folder (so `/etc/ftp-server/ftp-server.json` can say
 * `"users": "users.json"`), not to wherever the server was started.
 */
export const PATH_OPTIONS: ReadonlySet<string> = new Set(['root', 'log-dir', 'users', 'tls-cert', 'tls-key']);

/** A bad config file or value; the message names the file and the key. Exit code 2 in the CLI. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What one option accepts. */
export interface OptionSpec {
  type: 'string' | 'number' | 'boolean' | 'array';
  choices?: readonly unknown[];
}

/** Every option the file may set, by long (kebab-case) name. */
export type ConfigSchema = Record<string, OptionSpec>;

/** Where a value came from, for `--print-config`. */
export type ValueSource =
  | { kind: 'command line' }
  | { kind: 'environment'; variable: string }
  | { kind: 'config file'; file: string }
  | { kind: 'default' };

/** The result of {@link applyConfigFile}. */
export interface LoadedConfig {
  /** Absolute path of the file read, or `undefined` when there was none. */
  file: string | undefined;
  /** The file's values by long option name (paths resolved). */
  values: Record<string, unknown>;
  schema: ConfigSchema;
  /** Where each option's effective value comes from. */
  sources: Record<string, ValueSource>;
}

/** The parts of yargs' option table we read (`getOptions()`, untyped in @types/yargs). */
interface YargsOptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  string: string[];
  number: string[];
  boolean: string[];
  array: string[];
  choices: Record<string, unknown[]>;
}

/** `maxConnections` → `max-connections`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The environment variable yargs reads for an option: `max-connections` → `FTP_SERVER_MAX_CONNECTIONS`. */
export function envVariable(key: string, prefix = ENV_PREFIX): string {
  return `${prefix}_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** True for options whose values `--print-config` must not show. */
export function isSecretKey(key: string): boolean {
  return /password|passphrase|secret|token|credential/i.test(key);
}

/**
 * A value as `--print-config` may show it: a URL's `user:password@` part is
 * masked (an endpoint or a Redis URL can carry one, whatever its key is called).
 * A `*-url` option that does not parse is hidden whole: it may still hold one.
 */
export function maskCredentials(value: unknown, key = ''): unknown {
  const urlKey = key.endsWith('-url');
  if (typeof value !== 'string' || (!urlKey && !value.includes('@'))) return value;
  try {
    const url = new URL(value);
    if (url.username === '' && url.password === '') return value;
    url.username = '****';
    url.password = '';
    return url.toString();
  } catch {
    return urlKey ? '(not a URL; hidden)' : value;
  }
}

function optionTable(parser: Argv<unknown>): YargsOptionTable {
  const getOptions = (parser as unknown as { getOptions?: () => YargsOptionTable }).getOptions;
  if (typeof getOptions !== 'function') throw new Error('this yargs has no getOptions(): cannot derive the config keys');
  return getOptions.call(parser);
}

/**
 * The file's keys, taken from the options declared on `parser`, so that an
 * option added to the CLI is accepted in the file with the same type and
 * choices, without a second list to keep in step.
 */
export function schemaFromYargs(parser: Argv<unknown>): ConfigSchema {
  const table = optionTable(parser);
  const aliases = new Set(Object.values(table.alias).flat());
  const schema: ConfigSchema = {};
  for (const key of Object.keys(table.key)) {
    if (aliases.has(key) || NOT_IN_FILE.has(key)) continue;
    const type = table.array.includes(key)
      ? 'array'
      : table.number.includes(key)
        ? 'number'
        : table.boolean.includes(key)
          ? 'boolean'
          : 'string';
    schema[key] = table.choices[key] ? { type, choices: table.choices[key] } : { type };
  }
  return schema;
}

/**
 * Which file to read: `--config FILE` (or `--config=FILE`), else
 * `FTP_SERVER_CONFIG`, else `ftp-server.json` in `cwd` if it exists.
 * A named file must exist; the implicit one is optional.
 */
export function locateConfigFile(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  exists: (file: string) => boolean = fs.existsSync,
): { file: string; explicit: boolean } | undefined {
  let named: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i];
    if (token === '--') break;
    if (token === '--config') named = argv[i + 1];
    else if (token.startsWith('--config=')) named = token.slice('--config='.length);
  }
  named ??= env[envVariable('config')];
  if (named !== undefined) {
    if (named === '') throw new ConfigError('--config needs a file name');
    return { file: path.resolve(cwd, named), explicit: true };
  }
  const implicit = path.resolve(cwd, CONFIG_FILE_NAME);
  return exists(implicit) ? { file: implicit, explicit: false } : undefined;
}

/** Edit distance, to suggest the key that was meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `${typeof value} ${JSON.stringify(value)}`;
}

/** What each option type accepts in the file, and how a refusal says so. */
const TYPE_CHECKS: Record<OptionSpec['type'], [expected: string, ok: (value: unknown) => boolean]> = {
  number: ['a number', (v) => typeof v === 'number' && Number.isFinite(v)],
  boolean: ['true or false', (v) => typeof v === 'boolean'],
  string: ['a string', (v) => typeof v === 'string'],
  array: ['an array of strings', (v) => Array.isArray(v) && v.every((e) => typeof e === 'string' || typeof e === 'number')],
};

function checkValue(where: string, key: string, spec: OptionSpec, value: unknown): void {
  const bad = (expected: string) =>
    new ConfigError(`${where}: "${key}" must be ${expected} (got ${describeValue(value)})`);
  const [expected, ok] = TYPE_CHECKS[spec.type];
  if (!ok(value)) throw bad(expected);
  if (spec.choices && !spec.choices.includes(value)) {
    throw bad(`one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}`);
  }
}

/**
 * Parse and check the text of a config file. Every key must be a known
 * option and every value of its type; the first problem is thrown as a
 * {@link ConfigError} naming `file` and the key. Relative paths in
 * {@link PATH_OPTIONS} are resolved against the file's folder.
 */
export function parseConfigText(text: string, schema: ConfigSchema, file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: must hold one JSON object of option names and values`);
  }
  const values: Record<string, unknown> = {};
  for (const [written, value] of Object.entries(parsed)) {
    const key = kebabCase(written);
    if (NOT_IN_FILE.has(key)) throw new ConfigError(`${file}: "${written}" cannot be set in a config file`);
    const spec = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const near = Object.keys(schema).find((known) => distance(known, key) <= 2);
      throw new ConfigError(`${file}: unknown key "${written}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    if (Object.hasOwn(values, key)) throw new ConfigError(`${file}: "${written}" is given twice (as "${key}" and in camelCase)`);
    checkValue(file, written, spec, value);
    values[key] =
      PATH_OPTIONS.has(key) && typeof value === 'string' && value !== ''
        ? path.resolve(path.dirname(file), value)
        : value;
  }
  return values;
}

/** Read and check one config file (see {@link parseConfigText}). */
export function loadConfigFile(file: string, schema: ConfigSchema): Record<string, unknown> {
  let text: string;
  try {
    const handle = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      const length = fs.readSync(handle, buffer, 0, buffer.length, 0);
      if (length > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: larger than ${MAX_CONFIG_BYTES} bytes; is it a config file?`);
      text = buffer.subarray(0, length).toString('utf8');
    } finally {
      fs.closeSync(handle);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConfigText(text, schema, file);
}

/** Long names of the options given on the command line (aliases and camelCase folded). */
export function commandLineKeys(argv: readonly string[], parser: Argv<unknown>, schema: ConfigSchema): Set<string> {
  const table = optionTable(parser);
  const canonical = new Map<string, string>();
  for (const [key, aliases] of Object.entries(table.alias)) for (const alias of aliases) canonical.set(alias, key);
  const parsed = Parser.detailed([...argv], {
    alias: table.alias,
    boolean: table.boolean,
    number: table.number,
    string: table.string,
    array: table.array,
  });
  const keys = new Set<string>();
  for (const name of Object.keys(parsed.argv)) {
    if (name === '_' || name === '$0') continue;
    const key = canonical.get(name) ?? canonical.get(kebabCase(name)) ?? kebabCase(name);
    if (Object.hasOwn(schema, key)) keys.add(key);
  }
  return keys;
}

/** Where each option's value comes from, highest precedence first. */
export function valueSources(
  schema: ConfigSchema,
  given: { commandLine: ReadonlySet<string>; env: NodeJS.ProcessEnv; file?: string; fileValues: Record<string, unknown> },
): Record<string, ValueSource> {
  const sources: Record<string, ValueSource> = {};
  for (const key of Object.keys(schema)) {
    const variable = envVariable(key);
    if (given.commandLine.has(key)) sources[key] = { kind: 'command line' };
    else if (given.env[variable] !== undefined) sources[key] = { kind: 'environment', variable };
    else if (given.file !== undefined && Object.hasOwn(given.fileValues, key)) sources[key] = { kind: 'config file', file: given.file };
    else sources[key] = { kind: 'default' };
  }
  return sources;
}

/**
 * Find, read and check the config file for the options declared on
 * `parser`, and hand its values to yargs as a config object (ranked below
 * env and argv). Call after declaring every option, before `parse()`.
 */
export function applyConfigFile<T>(parser: Argv<T>, argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): LoadedConfig {
  const untyped = parser as unknown as Argv<unknown>;
  const schema = schemaFromYargs(untyped);
  const located = locateConfigFile(argv, env, cwd);
  const values = located ? loadConfigFile(located.file, schema) : {};
  if (located) parser.config(values);
  const sources = valueSources(schema, {
    commandLine: commandLineKeys(argv, untyped, schema),
    env,
    file: located?.file,
    fileValues: values,
  });
  return { file: located?.file, values, schema, sources };
}

/** The `--print-config` text: every option, its effective value (secrets masked) and its source. */
export function formatEffectiveConfig(args: Record<string, unknown>, loaded: LoadedConfig): string {
  const keys = Object.keys(loaded.schema).sort();
  const width = Math.max(...keys.map((k) => k.length), 3) + 2;
  const rows = keys.map((key) => {
    const value = args[key];
    const shown = value === undefined ? '(unset)' : isSecretKey(key) ? '"********"' : JSON.stringify(maskCredentials(value, key));
    const source = loaded.sources[key] ?? { kind: 'default' };
    const from =
      source.kind === 'environment' ? `environment ${source.variable}` : source.kind === 'config file' ? 'config file' : source.kind;
    return { key, shown, from };
  });
  const valueWidth = Math.min(Math.max(...rows.map((r) => r.shown.length), 5) + 2, 48);
  const lines = [
    '# ftp-server effective configuration',
    '# precedence: command line > environment > config file > defaults',
    `# config file: ${loaded.file ?? `none (no --config, no ${envVariable('config')}, no ./${CONFIG_FILE_NAME})`}`,
    ...rows.map((r) => `${r.key.padEnd(width)}${r.shown.padEnd(valueWidth)} ${r.from}`.trimEnd()),
  ];
  return `${lines.join('\n')}\n`;
}
