/**
 * The FTP options' checks (no process started: the CLI test does that),
 * and how the JSON log reads the FTP port's lines.
 */
import { toFtpSettings } from '../../src/cli/ftp-options';
import { UsageError } from '../../src/cli/server-options';
import { describeMessage } from '../../src/logging/json-format';

describe('toFtpSettings', () => {
  it('leaves the FTP port off unless asked, with active mode on and cleartext refused', () => {
    expect(toFtpSettings({})).toEqual({ activeAllowed: true, allowPlain: false });
  });

  it('takes every FTP option', () => {
    expect(
      toFtpSettings({
        'ftp-port': 0,
        'ftps-port': 990,
        'tls-cert': 'cert.pem',
        'ftp-host': '::',
        'pasv-address': ' 203.0.113.7 ',
        'pasv-ports': '50000-50100',
        'ftp-active': false,
        'ftp-allow-plain': true,
      }),
    ).toEqual({ port: 0, implicitPort: 990, host: '::', pasvAddress: '203.0.113.7', pasvPorts: { min: 50000, max: 50100 }, activeAllowed: false, allowPlain: true });
  });

  it.each([
    [{ 'ftp-port': 70000 }, '--ftp-port must be a whole number from 0 to 65535 (got 70000)'],
    [{ 'ftp-port': 21.5 }, '--ftp-port must be a whole number from 0 to 65535 (got 21.5)'],
    [{ 'ftps-port': 990 }, '--ftps-port needs --tls-cert and --tls-key'],
    [{ 'ftp-host': '' }, '--ftp-host must not be empty'],
    [{ 'pasv-address': 'ftp.example.com' }, '--pasv-address must be an IPv4 address such as 203.0.113.7, got "ftp.example.com"'],
    [{ 'pasv-address': '::1' }, '--pasv-address must be an IPv4 address such as 203.0.113.7, got "::1"'],
    [{ 'pasv-ports': '50000' }, '--pasv-ports must look like MIN-MAX (for example 50000-50100), got "50000"'],
    [{ 'pasv-ports': '80-90' }, '--pasv-ports must lie within 1024-65535'],
    [{ 'pasv-ports': '50100-50000' }, '--pasv-ports: MIN (50100) is greater than MAX (50000)'],
  ])('refuses %j with a clear message', (args, message) => {
    expect(() => toFtpSettings(args)).toThrow(new UsageError(message));
  });
});

describe('the JSON log on FTP lines', () => {
  it('gives FTP sessions their label, remote and protocol', () => {
    expect(describeMessage('FTP-10.0.0.5:40000', 'GET: Sent file - a.txt (5 bytes in 2 ms)')).toMatchObject({
      event: 'download', session: 'FTP-10.0.0.5:40000', remote: '10.0.0.5:40000', protocol: 'ftp', file: 'a.txt', bytes: 5,
    });
    expect(describeMessage('Client-10.0.0.5:40001', 'GET: Sent file - a.txt (5 bytes in 2 ms)')).toMatchObject({ protocol: 'native' });
    expect(describeMessage('main', 'GET: Sent file - a.txt (5 bytes in 2 ms)')).not.toHaveProperty('protocol');
  });

  it('reads the FTP connection lines as the native ones', () => {
    expect(describeMessage('main', 'New FTP connection from 10.0.0.5:40000. Active FTP connections: 3')).toEqual({
      event: 'connection_opened', session: 'FTP-10.0.0.5:40000', remote: '10.0.0.5:40000', protocol: 'ftp', active: 3,
    });
    expect(describeMessage('main', 'FTP connection closed for 10.0.0.5:40000 (client quit). Active FTP connections: 2')).toEqual({
      event: 'connection_closed', session: 'FTP-10.0.0.5:40000', remote: '10.0.0.5:40000', protocol: 'ftp', reason: 'client quit', active: 2,
    });
    expect(describeMessage('main', 'Refused FTP connection from 10.0.0.5:40000: Too many connections from your address (421) (2 similar lines suppressed)')).toMatchObject({
      event: 'connection_refused', remote: '10.0.0.5:40000', protocol: 'ftp', reason: 'Too many connections from your address', code: 421,
    });
    expect(describeMessage('main', 'FTP listening on 0.0.0.0:2121')).toMatchObject({ event: 'listening', protocol: 'ftp', address: '0.0.0.0:2121' });
    expect(describeMessage('main', 'New connection from 10.0.0.5:40000. Active connections: 1')).toMatchObject({ protocol: 'native', session: 'Client-10.0.0.5:40000' });
  });
});
