/**
 * For tests that drive FTP clients no one here wrote: one FTP port with
 * explicit FTPS (plain logins still allowed, so plain clients work too), one
 * that requires TLS (as a server with certificates does by default), and an
 * implicit FTPS port, all on the same core, with a freshly
 * generated certificate that clients are told to trust (not just to skip
 * checking); and a bounded runner for client programs that fails loudly
 * when the program is missing, so no test passes because a client was absent.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSelfSigned, type CertificatePair } from '../../../src/auth/self-signed';
import { FtpServer } from '../../../src/ftp/ftp-server';
import { startFtp, type FtpHarness, type FtpHarnessOptions } from './ftp-harness';

/** The servers a client test talks to. */
export interface ClientServers {
  h: FtpHarness;
  /** The implicit FTPS port (TLS from the first byte), on the same core. */
  implicitPort: number;
  /** An explicit FTPS port that refuses cleartext logins and data (no allowPlain: the default with certificates). */
  strictPort: number;
  /** The certificate both ports present (valid for 127.0.0.1). */
  cert: CertificatePair;
  /** The certificate as a PEM file, for clients that take a CA file. */
  certFile: string;
  /** A scratch folder for the client's local files, outside the served root. */
  local: string;
  stop(): Promise<void>;
}

/** Start both ports over a fresh temp root. */
export async function startClientServers(options: FtpHarnessOptions = {}): Promise<ClientServers> {
  const cert = await createSelfSigned({ hosts: ['127.0.0.1', 'localhost'] });
  const local = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-client-')));
  const certFile = path.join(local, 'ca.pem');
  await fs.writeFile(certFile, cert.cert);
  const h = await startFtp({ ...options, tls: cert, allowPlain: true });
  const implicit = await FtpServer.start({ core: h.core, host: '127.0.0.1', port: 0, tls: cert, implicitTls: true });
  const strict = await FtpServer.start({ core: h.core, host: '127.0.0.1', port: 0, tls: cert });
  return {
    h,
    implicitPort: implicit.port,
    strictPort: strict.port,
    cert,
    certFile,
    local,
    async stop() {
      await Promise.all([implicit.close(1_000), strict.close(1_000)]);
      await h.stop();
      await fs.rm(local, { recursive: true, force: true });
    },
  };
}

/** What a client program did. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a client program with a hard time limit. A non-zero exit is returned,
 * not thrown, so a test can assert on refusals; a missing program throws.
 */
export function runClient(program: string, args: string[], options: { cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 20_000, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`FTP client '${program}' is not installed: install it (apt-get install -y ${program}); .ci/run does this`));
          return;
        }
        if (err && err.killed) {
          reject(new Error(`${program} ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like {@link runClient}, but a non-zero exit fails with everything the program said. */
export async function runOk(program: string, args: string[], options: { cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const result = await runClient(program, args, options);
  if (result.code !== 0) throw new Error(`${program} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/**
 * The client's version line, printed so the test output says what ran.
 * Fails the test (with how to install it) when the client is missing.
 */
export async function announceClient(program: string, versionArgs: string[], pick: (out: string) => string = (out) => out.split('\n')[0]): Promise<string> {
  const result = await runClient(program, versionArgs);
  const version = pick(`${result.stdout}${result.stderr}`).trim();
  if (result.code !== 0 || version === '') throw new Error(`FTP client '${program}' did not report a version: ${result.stderr}`);
  process.stdout.write(`FTP client under test: ${version}\n`);
  return version;
}

/** Deterministic bytes of any length (every byte value occurs). */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    // xorshift32: cheap, and no two files of a test share their bytes.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A sparse file of `size` bytes whose only data is `tail` at its end (offsets past 4 GiB cost no disk). */
export async function sparseWithTail(file: string, size: number, tail: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const handle = await fs.open(file, 'w');
  try {
    await handle.write(tail, 0, tail.length, size - tail.length);
  } finally {
    await handle.close();
  }
}
