/**
 * `ftp-server cert --out DIR`: write a self-signed `cert.pem` and `key.pem`
 * for quick starts (clients then trust it with `--ca DIR/cert.pem`). For a
 * server others reach by name, a certificate from a real CA is better.
 */
import type { Argv } from 'yargs';
import { createSelfSigned, DEFAULT_CERT_HOSTS, writeCertificatePair } from '../auth/self-signed';

/** Parsed arguments of `ftp-server cert`. */
export interface CertArgs {
  out: string;
  host?: string[];
  days: number;
  force: boolean;
}

/** Declare `cert`'s options on a yargs (sub)command. */
export function declareCertCommand<T>(yargs: Argv<T>) {
  return yargs
    .option('out', { type: 'string', demandOption: true, describe: 'Folder for cert.pem and key.pem (created if missing)' })
    .option('host', { type: 'string', array: true, describe: `Host name or IP the certificate is for; repeatable (default: ${DEFAULT_CERT_HOSTS.join(', ')})` })
    .option('days', { type: 'number', default: 365, describe: 'Validity in days' })
    .option('force', { type: 'boolean', default: false, describe: 'Replace existing files' });
}

/** Make and write the pair; returns the exit code. */
export async function runCertCommand(args: CertArgs, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  try {
    const pair = await createSelfSigned({ hosts: args.host, days: args.days });
    const files = await writeCertificatePair(args.out, pair, args.force);
    const hosts = args.host && args.host.length > 0 ? args.host : DEFAULT_CERT_HOSTS;
    io.stdout.write(
      [
        `Wrote ${files.cert} and ${files.key} (the key with mode 0600), self-signed for ${hosts.join(', ')}, valid ${args.days} days.`,
        `Serve:   ftp-server --tls-cert ${files.cert} --tls-key ${files.key}`,
        `Connect: ftp-client --tls --ca ${files.cert}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    io.stderr.write(`ftp-server cert: ${(err as Error).message}\n`);
    return 1;
  }
}
