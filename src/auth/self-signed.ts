/**
 * A self-signed certificate for quick starts. Node can make keys but not
 * X.509 certificates, so this runs the `openssl` command (present on Debian,
 * Ubuntu, macOS and most servers) with arguments passed directly — no shell.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SelfSignedOptions {
  /** Names and addresses the certificate is valid for; the first is also its CN. */
  hosts?: string[];
  /** Validity in days (default 365). */
  days?: number;
  /** The `openssl` program (default: found on PATH). */
  openssl?: string;
}

/** A PEM certificate and its PEM private key. */
export interface CertificatePair {
  cert: string;
  key: string;
}

/** The certificate could not be made; the message says what to do. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

export const DEFAULT_CERT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** The subjectAltName value for `hosts`; throws on a name that is neither a DNS name nor an IP. */
export function subjectAltName(hosts: readonly string[]): string {
  return hosts
    .map((host) => {
      if (net.isIP(host)) return `IP:${host}`;
      if (DNS_NAME.test(host) && host.length <= 253) return `DNS:${host}`;
      throw new CertificateError(`'${host}' is neither a host name nor an IP address`);
    })
    .join(',');
}

/**
 * Make a self-signed ECDSA P-256 certificate (SHA-256) valid for `hosts`.
 * @throws CertificateError when openssl is missing or fails.
 */
export async function createSelfSigned(options: SelfSignedOptions = {}): Promise<CertificatePair> {
  const hosts = options.hosts && options.hosts.length > 0 ? options.hosts : [...DEFAULT_CERT_HOSTS];
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CertificateError('days must be a whole number from 1 to 3650');
  const san = subjectAltName(hosts);
  // A private folder for the key while openssl writes it.
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'ftp-cert-'));
  try {
    const keyFile = path.join(work, 'key.pem');
    const certFile = path.join(work, 'cert.pem');
    await run(options.openssl ?? 'openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-sha256', '-nodes',
      '-days', String(days), '-subj', `/CN=${hosts[0]}`,
      '-addext', `subjectAltName=${san}`,
      '-addext', 'extendedKeyUsage=serverAuth',
      '-keyout', keyFile, '-out', certFile,
    ]);
    return { cert: await fsp.readFile(certFile, 'utf8'), key: await fsp.readFile(keyFile, 'utf8') };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 30_000, windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new CertificateError(`'${program}' was not found: install OpenSSL (e.g. apt-get install openssl) or pass your own --tls-cert and --tls-key`));
        return;
      }
      const detail = String(stderr).trim().split('\n').slice(-3).join(' ');
      reject(new CertificateError(`openssl failed: ${detail || err.message}`));
    });
  });
}

/**
 * Write `pair` as `cert.pem` (0644) and `key.pem` (0600) in `dir` (created
 * if missing). Refuses to replace existing files unless `force`.
 * @returns the two paths.
 */
export async function writeCertificatePair(dir: string, pair: CertificatePair, force = false): Promise<{ cert: string; key: string }> {
  await fsp.mkdir(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!force) {
    for (const file of [cert, key]) {
      if (await fsp.stat(file).then(() => true, () => false)) {
        throw new CertificateError(`${file} already exists (pass --force to replace it)`);
      }
    }
  }
  await writeAtomic(key, pair.key, 0o600);
  await writeAtomic(cert, pair.cert, 0o644);
  return { cert, key };
}

/**
 * Write `text` to `file` through a temporary file beside it, renamed into
 * place once complete. The folder may be shared (`/tmp`, a group's folder):
 * the temporary name is unpredictable and created exclusively (O_EXCL, so a
 * link planted at it is refused, not followed), and the file is private
 * (0600) from its first byte, so nobody can redirect or read the key while
 * it is written. Its final mode is set once the content is in.
 */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}
