import { X509Certificate } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import tls from 'node:tls';

/** PEM certificate (chain) and private key: a port then speaks TLS only. */
export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
  /** For an encrypted key. */
  passphrase?: string;
}

/** What the server needs to speak TLS, read and checked. */
export interface LoadedTls {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
  /** One line for the start-up log: subject, names, expiry. */
  summary: string;
  /** Problems worth a WARNING (expiring soon, self-signed). */
  warnings: string[];
}

/** A certificate or key that cannot be used; the message names the file. */
export class TlsFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

const SOON_MS = 30 * 24 * 3600 * 1000;

/**
 * Read the PEM files and check them before the server listens: readable,
 * a key that matches the certificate, not expired. The error messages name
 * the files and never include key material.
 */
export async function loadTlsFiles(certFile: string, keyFile: string, passphrase?: string, now = Date.now()): Promise<LoadedTls> {
  const read = async (file: string, what: string) => {
    try {
      return await fsp.readFile(file);
    } catch (err) {
      throw new TlsFilesError(`cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const cert = await read(certFile, 'certificate');
  const key = await read(keyFile, 'private key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(`${certFile} is not a PEM certificate`);
  }
  try {
    tls.createSecureContext({ cert, key, ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    const text = String((err as Error).message);
    if (/mismatch/i.test(text)) throw new TlsFilesError(`the private key ${keyFile} does not belong to the certificate ${certFile}`);
    if (/bad decrypt|passphrase|interrupted or cancelled/i.test(text)) throw new TlsFilesError(`cannot decrypt ${keyFile}: wrong or missing --tls-passphrase`);
    throw new TlsFilesError(`cannot use ${certFile} with ${keyFile}: ${text}`);
  }
  const validTo = Date.parse(x509.validTo);
  const validFrom = Date.parse(x509.validFrom);
  if (validTo <= now) throw new TlsFilesError(`the certificate ${certFile} expired on ${x509.validTo}`);
  const warnings: string[] = [];
  if (validFrom > now) warnings.push(`The certificate ${certFile} is not valid before ${x509.validFrom}: clients will refuse it until then`);
  if (validTo - now < SOON_MS) warnings.push(`The certificate ${certFile} expires on ${x509.validTo}: renew it`);
  const selfSigned = x509.issuer === x509.subject;
  const names = x509.subjectAltName ?? '(no subjectAltName)';
  return {
    cert,
    key,
    ...(passphrase ? { passphrase } : {}),
    summary: `TLS on: ${x509.subject.replace(/\n/g, ', ')}; ${names}; valid until ${x509.validTo}${selfSigned ? '; self-signed (clients need --ca)' : ''}`,
    warnings,
  };
}
