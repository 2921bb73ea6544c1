/**
 * The package as someone installing it gets it (issue 11 §5): `npm pack`
 * makes the tarball npm would publish, it is unpacked into a fresh folder's
 * `node_modules/ftp-server`, and from that folder `require('ftp-server')`
 * must give the API. A program written against the shipped `.d.ts` is
 * type-checked, compiled and run there: it serves a storage of its own
 * making to the package's own client over a real socket.
 *
 * Offline and quick: the package's dependencies are the project's installed
 * ones (its `node_modules` linked into the unpacked package), not a fresh
 * install from a registry.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PROJECT = path.resolve(__dirname, '..', '..');
const TSC = path.join(PROJECT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * The public names, exactly: a new export is a decision (add it here and to
 * docs/LIBRARY.md), and an internal one leaking out fails this test.
 */
const PUBLIC_API = [
  'ALL_PERMISSIONS', 'ANONYMOUS_USER', 'AUTH_ERROR_KINDS', 'Accounts', 'AuthError', 'CertificateError', 'DEFAULT_CLIENT_TIMEOUT_MS',
  'DEFAULT_LIMITS', 'DEFAULT_LOGIN_POLICY', 'DEFAULT_PORT', 'DEFAULT_SCRYPT', 'FakeClock', 'FileServer', 'FtpClient', 'FtpError', 'FtpServer',
  'LocalDigestCache', 'LocalStorage', 'MAX_PART_BYTES', 'MAX_PATH_BYTES', 'MemoryLog', 'MetricsObserver', 'PART_SUFFIX',
  'PART_VERSION_SUFFIX', 'PROTOCOL_VERSION', 'ROOT_PATH', 'S3Storage', 'SERVER_NAME', 'STORAGE_ERROR_KINDS', 'ServerCore',
  'StorageError', 'TLS_CIPHERS', 'TRANSFER_ERROR_KINDS', 'TlsFilesError', 'TransferError', 'TransferLog', 'UsersFileError',
  'allListeners', 'childPath', 'combineObservers', 'compareCodePoints', 'createSelfSigned', 'createServerLog', 'emptyUsers',
  'hashPassword', 'isStorageError', 'kindForCode', 'loadTlsFiles', 'loadUsersFile', 'parentOf', 'parseClientPath',
  'parsePermissions', 'pathText', 'saveUsersFile', 'sha256File', 'silentLog', 'systemClock', 'userNameProblem', 'visible',
  'withUsersLock',
].sort();

/**
 * A user's program, in TypeScript against the package's types: its own
 * read-only storage wrapped around LocalStorage, its own observer, a server
 * on port 0, the package's client. Prints what it saw as one JSON line.
 */
const CONSUMER = `
import { Readable, Writable } from 'node:stream';
import {
  FileServer, FtpClient, FtpError, LocalStorage, MemoryLog, StorageError, STORAGE_ERROR_KINDS, isStorageError, parseClientPath,
  type PendingUpload, type ServerObserver, type Storage, type StorageEntry, type StorageListOptions, type StoragePath,
  type TransferRecord, type DownloadSource,
} from 'ftp-server';

/** Reads pass through; every change is refused with the storage kind for it. */
class ReadOnlyStorage implements Storage {
  readonly capabilities: Storage['capabilities'];
  constructor(private readonly inner: Storage) {
    this.capabilities = inner.capabilities;
  }
  list(path: StoragePath, options?: StorageListOptions): Promise<StorageEntry[]> { return this.inner.list(path, options); }
  stat(path: StoragePath): Promise<StorageEntry> { return this.inner.stat(path); }
  openRead(path: StoragePath): Promise<DownloadSource> { return this.inner.openRead(path); }
  beginUpload(): Promise<PendingUpload> { return this.refuse(); }
  deleteFile(): Promise<void> { return this.refuse(); }
  makeDirectory(): Promise<void> { return this.refuse(); }
  removeDirectory(): Promise<void> { return this.refuse(); }
  rename(): Promise<void> { return this.refuse(); }
  async scope(subpath: StoragePath): Promise<Storage> { return new ReadOnlyStorage(await this.inner.scope(subpath)); }
  private refuse(): Promise<never> { return Promise.reject(new StorageError('read_only', 'This server is read-only')); }
}

async function fetch(client: FtpClient, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk); done(); } });
  await client.get(name, sink);
  return Buffer.concat(chunks).toString();
}

async function failure(run: () => Promise<unknown>): Promise<{ kind?: string; code?: number } | string> {
  try {
    await run();
    return 'succeeded';
  } catch (err) {
    return err instanceof FtpError ? { kind: err.kind, code: err.code } : String(err);
  }
}

async function main(root: string): Promise<void> {
  const records: TransferRecord[] = [];
  const observer: ServerObserver = { transfer: (record) => { records.push(record); } };
  const log = new MemoryLog();
  const local = await LocalStorage.create(root, { createRoot: true });
  const writable = await FileServer.start({ storage: local, host: '127.0.0.1', port: 0, log, observer });
  const readOnly = await FileServer.start({ storage: new ReadOnlyStorage(local), host: '127.0.0.1', port: 0, log });
  try {
    const client = await FtpClient.connect({ host: '127.0.0.1', port: writable.address.port });
    const put = await client.put('hello.txt', Readable.from([Buffer.from('hello, library')]), 14);
    const listing = (await client.list()).map((entry) => entry.name + ':' + entry.size);
    const content = await fetch(client, 'hello.txt');
    const missing = await failure(() => client.stat('missing.txt'));
    await client.quit();

    const reader = await FtpClient.connect({ host: '127.0.0.1', port: readOnly.address.port });
    const readBack = await fetch(reader, 'hello.txt');
    const refusedPut = await failure(() => reader.put('new.txt', Readable.from([Buffer.from('x')]), 1));
    const refusedMkdir = await failure(() => reader.mkdir('folder'));
    await reader.quit();

    let invalid: unknown;
    try { parseClientPath('../etc/passwd'); } catch (err) { invalid = err; }
    console.log(JSON.stringify({
      put: { bytes: put.bytes, sha256: put.sha256 },
      listing, content, missing, readBack, refusedPut, refusedMkdir,
      invalid: isStorageError(invalid) ? invalid.kind : String(invalid),
      kinds: STORAGE_ERROR_KINDS.length,
      records: records.map((r) => ({ direction: r.direction, filename: r.filename, bytes: r.bytes, ok: r.ok, protocol: r.protocol })),
      warnings: log.lines.filter((line) => line.level === 'WARNING').map((line) => line.message),
    }));
  } finally {
    await writable.close();
    await readOnly.close();
  }
}

main(process.argv[2]).catch((err) => { console.error(err); process.exitCode = 1; });
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Newest modification time of the TypeScript sources under `dir`. */
async function newestSource(dir: string): Promise<number> {
  const names = await fs.readdir(dir, { recursive: true });
  const times = await Promise.all(names.filter((n) => n.endsWith('.ts')).map(async (n) => (await fs.stat(path.join(dir, n))).mtimeMs));
  return Math.max(...times);
}

/**
 * `npm test` builds first (pretest); run alone, this file builds when
 * `dist/` is missing or older than the sources, so it never packs stale code.
 */
async function ensureBuilt(): Promise<void> {
  const built = await fs.stat(path.join(PROJECT, 'dist', 'index.js')).then((s) => s.mtimeMs, () => 0);
  if (built >= (await newestSource(path.join(PROJECT, 'src')))) return;
  const build = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], PROJECT, 120_000);
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

let work: string;
let packedFiles: string[];

beforeAll(async () => {
  await ensureBuilt();
  work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-library-')));
  // --ignore-scripts: `prepare` would build again; dist/ is fresh already.
  const pack = await run('npm', ['pack', PROJECT, '--ignore-scripts', '--offline', '--json', '--pack-destination', work], work);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [report] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = report.files.map((f) => f.path);
  const modules = path.join(work, 'node_modules');
  await fs.mkdir(modules);
  const untar = await run('tar', ['-xzf', path.join(work, report.filename), '-C', modules], work);
  if (untar.code !== 0) throw new Error(`tar failed:\n${untar.stderr}`);
  await fs.rename(path.join(modules, 'package'), path.join(modules, 'ftp-server'));
  // Its dependencies: the project's own install, linked in (offline).
  await fs.symlink(path.join(PROJECT, 'node_modules'), path.join(modules, 'ftp-server', 'node_modules'));
}, 180_000);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

it('packs what main, types and bin name, and no sources or tests', async () => {
  const manifest = JSON.parse(await fs.readFile(path.join(work, 'node_modules', 'ftp-server', 'package.json'), 'utf8'));
  expect(manifest).toMatchObject({ name: 'ftp-server', private: true, main: 'dist/index.js', types: 'dist/index.d.ts' });
  const shipped = [manifest.main, manifest.types, ...Object.values(manifest.bin as Record<string, string>)];
  expect(shipped.filter((file) => !packedFiles.includes(file))).toEqual([]);
  expect(packedFiles).toEqual(expect.arrayContaining(['dist/storage/small-file-worker.js', 'README.md']));
  expect(packedFiles.filter((file) => /^(src|__tests__|bench|docs)\//.test(file))).toEqual([]);
});

it('gives the API, and nothing else, to require("ftp-server") from a folder where it is installed', async () => {
  const script = "console.log(JSON.stringify({ at: require.resolve('ftp-server'), names: Object.keys(require('ftp-server')).sort() }))";
  const result = await run(process.execPath, ['-e', script], work);
  expect(result).toMatchObject({ code: 0 });
  const { at, names } = JSON.parse(result.stdout);
  expect(at).toBe(path.join(work, 'node_modules', 'ftp-server', 'dist', 'index.js'));
  expect(names).toEqual(PUBLIC_API);
});

it('type-checks a program against its types, which then serves its own storage to the package client', async () => {
  await fs.writeFile(path.join(work, 'consumer.ts'), CONSUMER);
  const typeRoots = path.join(PROJECT, 'node_modules', '@types');
  const compile = await run(
    process.execPath,
    [TSC, '--strict', '--module', 'commonjs', '--target', 'ES2022', '--types', 'node', '--typeRoots', typeRoots, '--skipLibCheck', 'consumer.ts'],
    work,
  );
  expect({ code: compile.code, errors: compile.stdout }).toEqual({ code: 0, errors: '' });

  const result = await run(process.execPath, ['consumer.js', path.join(work, 'served')], work);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const seen = JSON.parse(result.stdout);
  expect(seen).toEqual({
    put: { bytes: 14, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    listing: ['hello.txt:14'],
    content: 'hello, library',
    missing: { kind: 'not_found', code: 404 },
    readBack: 'hello, library',
    // The storage's read_only kind, through the native table: 403.
    refusedPut: { kind: 'forbidden', code: 403 },
    refusedMkdir: { kind: 'forbidden', code: 403 },
    invalid: 'invalid_path',
    kinds: 16,
    records: [
      { direction: 'upload', filename: 'hello.txt', bytes: 14, ok: true, protocol: 'native' },
      { direction: 'download', filename: 'hello.txt', bytes: 14, ok: true, protocol: 'native' },
    ],
    warnings: expect.arrayContaining(['STAT: Not found - missing.txt', 'PUT: This server is read-only - new.txt', 'MKDIR: This server is read-only - folder']),
  });
  // The bytes went where the program's storage put them.
  expect(await fs.readFile(path.join(work, 'served', 'hello.txt'), 'utf8')).toBe('hello, library');
  expect(await fs.readdir(path.join(work, 'served'))).toEqual(['hello.txt']);
});
