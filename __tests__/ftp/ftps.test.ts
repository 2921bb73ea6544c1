/**
 * FTPS (RFC 4217) with Node's own TLS client: explicit (`AUTH TLS`, `PBSZ`,
 * `PROT`) and implicit (TLS from the first byte), data connections over
 * TLS with and without resuming the control connection's TLS session, and
 * the refusals: logins and data in cleartext (530/521), a data connection
 * that does not speak TLS (522), commands smuggled after `AUTH TLS`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { createSelfSigned, type CertificatePair } from '../../src/auth/self-signed';
import { dataConnect, FtpControl, readAll, startFtp, type FtpHarness } from './helpers/ftp-harness';

const CONTENT = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));

let pair: CertificatePair;
let explicit: FtpHarness;
let implicit: FtpHarness;
let plainAllowed: FtpHarness;

beforeAll(async () => {
  pair = await createSelfSigned();
  const credentials = { cert: pair.cert, key: pair.key };
  const prepare = async ({ root }: { root: string }) => fs.writeFile(path.join(root, 'data.bin'), CONTENT);
  [explicit, implicit, plainAllowed] = await Promise.all([
    startFtp({ tls: credentials, prepare }),
    startFtp({ tls: credentials, implicitTls: true, prepare }),
    startFtp({ tls: credentials, allowPlain: true, prepare }),
  ]);
});
afterAll(async () => Promise.all([explicit.stop(), implicit.stop(), plainAllowed.stop()]));

const trust = (): tls.ConnectionOptions => ({ ca: pair.cert, servername: 'localhost' });

/** AUTH TLS, the handshake, a login, PBSZ 0 and PROT P. */
async function secureLogin(h: FtpHarness): Promise<{ control: FtpControl }> {
  const control = await h.connect();
  expect((await control.cmd('AUTH TLS')).raw).toBe('234 AUTH TLS successful; start the handshake\r\n');
  await control.startTls(trust());
  expect((await control.cmd('USER anyone')).code).toBe(331);
  expect((await control.cmd('PASS x')).code).toBe(230);
  expect((await control.cmd('PBSZ 0')).raw).toBe('200 PBSZ=0\r\n');
  expect((await control.cmd('PROT P')).raw).toBe('200 Data connections will use TLS\r\n');
  return { control };
}

/**
 * A transfer over a TLS data connection: EPSV, TCP connect, the command,
 * the handshake (started at once, as curl does), then the bytes.
 */
async function secureTransfer(control: FtpControl, command: string, options: tls.ConnectionOptions, upload?: Buffer) {
  const port = await control.passive('EPSV');
  const raw = await dataConnect(port);
  control.send(command);
  const secure = tls.connect({ socket: raw, ...trust(), ...options });
  secure.on('error', () => undefined);
  const handshake = new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  const reading = upload === undefined ? readAll(secure) : Promise.resolve(Buffer.alloc(0));
  expect((await control.read()).code).toBe(150);
  await handshake;
  if (upload !== undefined) secure.end(upload);
  const data = await reading;
  const final = await control.read();
  return { data, final, reused: secure.isSessionReused() };
}

describe('explicit FTPS (AUTH TLS)', () => {
  it('FEAT offers AUTH TLS, PBSZ and PROT', async () => {
    const control = await explicit.connect();
    const feat = await control.cmd('FEAT');
    expect(feat.lines).toEqual(expect.arrayContaining([' AUTH TLS', ' PBSZ', ' PROT']));
    control.close();
  });

  it('refuses a login in cleartext with 530, and PBSZ/PROT before AUTH TLS with 503', async () => {
    const control = await explicit.connect();
    expect((await control.cmd('USER anyone')).raw).toBe('530 This server requires TLS for logins: send AUTH TLS first\r\n');
    expect((await control.cmd('PASS x')).code).toBe(503);
    expect((await control.cmd('PBSZ 0')).raw).toBe('503 PBSZ needs a TLS control connection: send AUTH TLS first\r\n');
    expect((await control.cmd('PROT P')).raw).toBe('503 PROT needs a TLS control connection: send AUTH TLS first\r\n');
    expect((await control.cmd('AUTH KERBEROS')).raw).toBe('504 Unknown security mechanism; use AUTH TLS\r\n');
    expect((await control.cmd('PWD')).code).toBe(530);
    control.close();
  });

  it('downloads and uploads over TLS data connections that resume the control session, and over ones that do not', async () => {
    const { control } = await secureLogin(explicit);
    const ticket = await control.session();
    const resumed = await secureTransfer(control, 'RETR data.bin', { session: ticket });
    expect(resumed.final.raw).toBe('226 Transfer complete\r\n');
    expect(resumed.data.equals(CONTENT)).toBe(true);
    expect(resumed.reused).toBe(true);
    const fresh = await secureTransfer(control, 'RETR data.bin', {});
    expect(fresh.data.equals(CONTENT)).toBe(true);
    expect(fresh.reused).toBe(false);
    const upload = await secureTransfer(control, 'STOR up.bin', { session: ticket }, CONTENT);
    expect(upload.final.raw).toBe('226 Transfer complete\r\n');
    expect((await explicit.read('up.bin')).equals(CONTENT)).toBe(true);
    const list = await secureTransfer(control, 'NLST', {});
    expect(list.data.toString().split('\r\n')).toEqual(expect.arrayContaining(['data.bin', 'up.bin']));
    control.close();
  });

  it('refuses cleartext data with 521 (PROT C, or no PROT at all)', async () => {
    const { control } = await secureLogin(explicit);
    expect((await control.cmd('PROT C')).raw).toBe('200 Data connections will be in cleartext\r\n');
    await control.passive('EPSV');
    expect((await control.cmd('RETR data.bin')).raw).toBe('521 Data connection cannot be opened with this PROT setting: send PBSZ 0 and PROT P\r\n');
    expect((await control.cmd('PROT S')).code).toBe(536);
    control.close();
    const noProt = await explicit.connect();
    expect((await noProt.cmd('AUTH TLS')).code).toBe(234);
    await noProt.startTls(trust());
    expect((await noProt.cmd('USER anyone')).code).toBe(331);
    expect((await noProt.cmd('PASS x')).code).toBe(230);
    await noProt.passive('EPSV');
    expect((await noProt.cmd('LIST')).code).toBe(521);
    noProt.close();
  });

  it('answers 522 when the data connection does not speak TLS, and the session goes on', async () => {
    const { control } = await secureLogin(explicit);
    const port = await control.passive('EPSV');
    const raw = await dataConnect(port);
    raw.on('error', () => undefined);
    expect((await control.cmd('RETR data.bin')).code).toBe(150);
    raw.write('this is not a TLS ClientHello\r\n');
    const reply = await control.read();
    expect(reply.code).toBe(522);
    expect(reply.text).toMatch(/^TLS negotiation on the data connection failed/);
    raw.destroy();
    expect((await control.cmd('NOOP')).code).toBe(200);
    control.close();
  });

  it('drops commands sent in cleartext right after AUTH TLS (STARTTLS injection), unread', async () => {
    const control = await explicit.connect();
    control.write('AUTH TLS\r\nUSER injected\r\nPASS injected\r\n');
    expect((await control.read()).code).toBe(234);
    await control.startTls(trust());
    // Had USER/PASS run, this would be 503 "Already logged in" or 230.
    expect((await control.cmd('PASS x')).raw).toBe('503 Send USER first\r\n');
    expect((await control.cmd('PWD')).code).toBe(530);
    expect(explicit.log.lines.some((l) => /^AUTH TLS: dropped \d+ byte\(s\) sent in cleartext after the AUTH command$/.test(l.message))).toBe(true);
    control.close();
  });

  it('refuses a second AUTH TLS and AUTH after login', async () => {
    const { control } = await secureLogin(explicit);
    expect((await control.cmd('AUTH TLS')).raw).toBe('503 The control connection already uses TLS\r\n');
    control.close();
  });
});

describe('--ftp-allow-plain', () => {
  it('lets a client log in and move data in cleartext, and still offers TLS', async () => {
    const control = await plainAllowed.login();
    await control.passive('EPSV').then(async (port) => {
      const data = await dataConnect(port);
      const reading = readAll(data);
      expect((await control.cmd('RETR data.bin')).code).toBe(150);
      expect((await reading).equals(CONTENT)).toBe(true);
      expect((await control.read()).code).toBe(226);
    });
    expect((await control.cmd('FEAT')).lines).toContain(' AUTH TLS');
    control.close();
  });
});

describe('implicit FTPS', () => {
  it('speaks TLS from the first byte, and serves TLS data connections', async () => {
    const control = await FtpControl.open(implicit.port, { tls: trust() });
    expect(control.greeting?.raw).toBe('220 ftp-server ready\r\n');
    expect((await control.cmd('FEAT')).lines).not.toContain(' AUTH TLS');
    expect((await control.cmd('AUTH TLS')).code).toBe(503);
    expect((await control.cmd('USER anyone')).code).toBe(331);
    expect((await control.cmd('PASS x')).code).toBe(230);
    expect((await control.cmd('PBSZ 0')).code).toBe(200);
    expect((await control.cmd('PROT P')).code).toBe(200);
    const retr = await secureTransfer(control, 'RETR data.bin', { session: await control.session() });
    expect(retr.data.equals(CONTENT)).toBe(true);
    expect(retr.reused).toBe(true);
    expect(retr.final.code).toBe(226);
    control.close();
  });

  it('refuses a client that does not speak TLS without answering in cleartext', async () => {
    const { connect } = await import('node:net');
    const socket = connect({ host: '127.0.0.1', port: implicit.port });
    socket.on('error', () => undefined);
    socket.write('USER anyone\r\n');
    const received = await readAll(socket).catch(() => Buffer.alloc(0));
    expect(received.toString('latin1')).not.toMatch(/^2\d\d /);
  });
});
