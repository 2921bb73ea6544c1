import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createSelfSigned, type CertificatePair } from '../../src/auth/self-signed';
import { main } from '../../src/cli/client-cli';
import { ClientSession } from '../../src/client/shell/session';
import { runShell } from '../../src/client/shell/shell';
import { promptHidden, PromptCancelled } from '../../src/client/ui/hidden-prompt';
import { Collector, fakeIo } from '../client/helpers';
import { startAuthServer, type AuthServer } from './auth-server';

/** The client's side of accounts and TLS: `--user`, `--tls`, `--ca`, `login`, the password prompt. */

const ALICE = { name: 'alice', password: 'alice-correct-horse' };
let pair: CertificatePair;
let srv: AuthServer;
let caFile: string;
let local: string;

beforeAll(async () => {
  pair = await createSelfSigned();
  srv = await startAuthServer({ users: [{ ...ALICE, home: '/' }], anonymous: {}, tls: { cert: pair.cert, key: pair.key } });
  caFile = path.join(srv.outside, 'cert.pem');
  local = path.join(srv.outside, 'local');
  await fs.mkdir(local);
  await fs.writeFile(caFile, pair.cert);
  await fs.writeFile(path.join(srv.root, 'hello.txt'), 'hello\n');
  await fs.writeFile(path.join(local, 'up.txt'), 'uploaded\n');
});
afterAll(() => srv.stop());

async function client(args: string[], env: Record<string, string> = {}, script: string | null = null) {
  const { io, stdout, stderr } = fakeIo(script, local);
  const code = await main(['--port', String(srv.port), '--dir', local, ...args], { ...io, env: { ...io.env, ...env } });
  return { code, out: stdout.text, err: stderr.text };
}

it('one-shot over TLS with --ca, logging in with FTP_PASSWORD', async () => {
  expect(await client(['--ca', caFile, '--user', 'alice', 'put', 'up.txt'], { FTP_PASSWORD: ALICE.password })).toMatchObject({ code: 0, err: '' });
  expect(await fs.readFile(path.join(srv.root, 'up.txt'), 'utf8')).toBe('uploaded\n');
  // Anonymous (no --user) may read but not write.
  expect(await client(['--tls', '--ca', caFile, 'ls'])).toMatchObject({ code: 0, out: 'hello.txt\nup.txt\n' });
  const refused = await client(['--ca', caFile, 'rm', 'hello.txt']);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/Permission denied: delete is not allowed for anonymous users/);
});

it('refuses an untrusted server with exit code 9 and says what to do', async () => {
  const result = await client(['--tls', 'ls']);
  expect(result).toMatchObject({ code: 9, out: '' });
  expect(result.err).toMatch(/self-signed .*--ca/);
  expect(await client(['--ca', path.join(local, 'missing.pem'), 'ls'])).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read --ca/) });
});

it('names the likely cause when a plain client meets a TLS port', async () => {
  const result = await client(['--timeout', '0.5', 'ls']);
  expect(result.code).toBe(5);
  expect(result.err).toMatch(/if the server uses TLS, connect with --tls/);
});

it('a wrong or missing password exits 8 and never echoes the password', async () => {
  const wrong = await client(['--ca', caFile, '--user', 'alice', 'ls'], { FTP_PASSWORD: 'not-the-password' });
  expect(wrong.code).toBe(8);
  expect(wrong.err).toBe('ls: login as alice: Wrong user name or password (401)\n');
  const none = await client(['--ca', caFile, '--user', 'alice', 'ls']);
  expect(none).toMatchObject({ code: 8, err: expect.stringMatching(/no password for alice: set FTP_PASSWORD/) });
});

it('login in a piped shell uses FTP_PASSWORD, and later commands run as that user', async () => {
  const result = await client(['--ca', caFile], { FTP_PASSWORD: ALICE.password }, 'mkdir before\nlogin alice\nmkdir after\nquit\n');
  expect(result.err).toMatch(/^mkdir: before: Permission denied: mkdir is not allowed for anonymous users/);
  expect(result.out).toContain('logged in as alice');
  expect(result.out).toContain('created /after/');
  await expect(fs.stat(path.join(srv.root, 'after'))).resolves.toBeTruthy();
});

it('login in an interactive shell asks without echo and keeps the password out of history', async () => {
  const input = new PassThrough();
  const output = new Collector();
  const historyFile = path.join(local, 'history');
  const session = new ClientSession({
    host: '127.0.0.1', port: srv.port, timeoutMs: 5_000, localDir: local,
    stdout: output, stderr: output, progress: false, json: false, tls: { ca: pair.cert },
  });
  const done = runShell(session, { input, output, interactive: true, historyFile });
  const typed = (text: string) => new Promise<void>((resolve) => setImmediate(() => { input.write(text); resolve(); }));
  await waitFor(() => output.text.includes('ftp> '));
  await typed('login alice\r');
  await waitFor(() => output.text.includes('Password for alice@127.0.0.1: '));
  await typed(`${ALICE.password}\r`);
  await waitFor(() => output.text.includes('logged in as alice'));
  await typed('mkdir typed\r');
  await waitFor(() => output.text.includes('created /typed/'));
  await typed('quit\r');
  expect(await done).toBe(0);
  expect(output.text).not.toContain(ALICE.password);
  const history = await fs.readFile(historyFile, 'utf8');
  expect(history).toContain('login alice');
  expect(history).not.toContain(ALICE.password);
});

describe('promptHidden', () => {
  function terminal() {
    const input = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[] });
    const tty = Object.assign(input, { setRawMode: (mode: boolean) => { input.modes.push(mode); return input; } });
    return tty;
  }

  it('reads a line in raw mode without echo; Backspace edits', async () => {
    const input = terminal();
    const output = new Collector();
    const answer = promptHidden(input, output, 'Password: ');
    input.write('pa');
    input.write('x\u007fss wörd\r');
    await expect(answer).resolves.toBe('pass wörd');
    expect(output.text).toBe('Password: \n');
    expect(input.modes).toEqual([true, false]);
  });

  it('cancels on Ctrl-C and refuses a non-terminal', async () => {
    const input = terminal();
    const answer = promptHidden(input, new Collector(), 'Password: ');
    input.write('abc\u0003');
    await expect(answer).rejects.toBeInstanceOf(PromptCancelled);
    expect(input.modes).toEqual([true, false]);
    await expect(promptHidden(new PassThrough(), new Collector(), 'Password: ')).rejects.toThrow(/no terminal/);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the shell');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
