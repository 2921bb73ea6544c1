import type { Argv } from 'yargs';
import { parsePassiveAddress, parsePassivePortRange, type PortRange } from '../ftp/data-address';
import { UsageError } from './server-options';

/**
 * The FTP port's settings after validation. `undefined` ports mean "off":
 * the standard FTP port runs only when asked for.
 */
export interface FtpSettings {
  /** `--ftp-port`: plain FTP with explicit FTPS (`AUTH TLS`) when certificates are given. */
  port?: number;
  /** `--ftps-port`: implicit FTPS, TLS from the first byte (needs --tls-cert/--tls-key). */
  implicitPort?: number;
  /** `--ftp-host`; absent: the native port's `--host`. */
  host?: string;
  pasvAddress?: string;
  pasvPorts?: PortRange;
  activeAllowed: boolean;
  allowPlain: boolean;
}

/**
 * Declare the FTP options (one block, apart from the native port's): the
 * `FTP_SERVER_*` environment and the config file cover them like every
 * other option, since both are derived from what yargs declares.
 */
export function declareFtpOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('ftp-port', { type: 'number', describe: 'Also serve standard FTP on this port (off unless set; 0 picks a free one)' })
    .option('ftp-host', { type: 'string', describe: 'Address of the FTP ports (default: --host)' })
    .option('pasv-address', { type: 'string', describe: 'IPv4 address advertised in PASV replies (behind NAT, e.g. the EC2 public IP)' })
    .option('pasv-ports', { type: 'string', describe: 'Passive data ports MIN-MAX, to open in a firewall (default: any free port)' })
    .option('ftp-active', { type: 'boolean', default: true, describe: 'Allow PORT/EPRT (only to the client\'s own address, ports >= 1024); --no-ftp-active refuses them' })
    .option('ftps-port', { type: 'number', describe: 'Also serve implicit FTPS (TLS from the first byte) on this port; needs --tls-cert/--tls-key' })
    .option('ftp-allow-plain', { type: 'boolean', default: false, describe: 'With --tls-cert: still allow FTP logins and data in cleartext' });
}

type ParsedFtpOptions = {
  'ftp-port'?: number;
  'ftp-host'?: string;
  'pasv-address'?: string;
  'pasv-ports'?: string;
  'ftp-active'?: boolean;
  'ftps-port'?: number;
  'ftp-allow-plain'?: boolean;
  'tls-cert'?: string;
};

/** Check the FTP values; a bad one is a {@link UsageError} naming the option. */
export function toFtpSettings(args: ParsedFtpOptions): FtpSettings {
  const port = (name: 'ftp-port' | 'ftps-port'): number | undefined => {
    const value = args[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
      throw new UsageError(`--${name} must be a whole number from 0 to 65535 (got ${String(value)})`);
    }
    return value;
  };
  const settings: FtpSettings = {
    activeAllowed: args['ftp-active'] ?? true,
    allowPlain: args['ftp-allow-plain'] ?? false,
  };
  const ftpPort = port('ftp-port');
  const implicitPort = port('ftps-port');
  if (ftpPort !== undefined) settings.port = ftpPort;
  if (implicitPort !== undefined) {
    if (args['tls-cert'] === undefined) throw new UsageError('--ftps-port needs --tls-cert and --tls-key');
    settings.implicitPort = implicitPort;
  }
  if (args['ftp-host'] !== undefined) {
    if (args['ftp-host'] === '') throw new UsageError('--ftp-host must not be empty');
    settings.host = args['ftp-host'];
  }
  if (args['pasv-address'] !== undefined) {
    const address = parsePassiveAddress(args['pasv-address']);
    if (typeof address !== 'string') throw new UsageError(address.error);
    settings.pasvAddress = address;
  }
  if (args['pasv-ports'] !== undefined) {
    const range = parsePassivePortRange(args['pasv-ports']);
    if ('error' in range) throw new UsageError(range.error);
    settings.pasvPorts = range;
  }
  return settings;
}
