/**
 * Every command's replies, byte for byte, over a real control connection
 * to a real FTP listener (no accounts: any USER/PASS logs in). Refusals
 * included: wrong arguments, wrong order, commands before login.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FTP_COMMANDS } from '../../src/ftp/commands';
import { LocalStorage } from '../../src/storage/local-storage';
import { dataConnect, readAll, startFtp, transfer, type FtpControl, type FtpHarness } from './helpers/ftp-harness';

let h: FtpHarness;
let c: FtpControl;

beforeAll(async () => {
  h = await startFtp();
  await h.put('a.txt', 'hello\n');
  await h.put('docs/readme.md', '# readme\n');
  await h.put('two  spaces .txt', 'spaced');
});
afterAll(async () => h.stop());
beforeEach(async () => {
  c = await h.login();
});
afterEach(() => c.close());

/** The exact bytes of the next reply to `line`. */
async function raw(line: string): Promise<string> {
  return (await c.cmd(line)).raw;
}

describe('login', () => {
  it('greets with 220, asks for a password with 331, logs in with 230', async () => {
    const fresh = await h.connect();
    expect(fresh.greeting?.raw).toBe('220 ftp-server ready\r\n');
    expect((await fresh.cmd('USER anyone')).raw).toBe('331 Please specify the password\r\n');
    expect((await fresh.cmd('PASS anything')).raw).toBe('230 Login successful\r\n');
    expect((await fresh.cmd('USER again')).raw).toBe('503 Already logged in\r\n');
    fresh.close();
  });

  it('refuses PASS before USER with 503', async () => {
    const fresh = await h.connect();
    expect((await fresh.cmd('PASS x')).raw).toBe('503 Send USER first\r\n');
    fresh.close();
  });

  it('answers every command but the public ones 530 before login, and touches nothing', async () => {
    const fresh = await h.connect();
    const publicVerbs = new Set(['USER', 'PASS', 'QUIT', 'AUTH', 'PBSZ', 'PROT', 'SYST', 'FEAT', 'OPTS', 'HELP', 'NOOP']);
    for (const command of FTP_COMMANDS) {
      for (const verb of [command.verb, ...(command.aliases ?? [])]) {
        if (publicVerbs.has(verb)) continue;
        const arg = command.argument === 'none' ? '' : ' newdir';
        const reply = await fresh.cmd(`${verb}${arg}`);
        expect({ verb, raw: reply.raw }).toEqual({ verb, raw: '530 Please log in with USER and PASS\r\n' });
      }
    }
    await expect(fs.stat(path.join(h.root, 'newdir'))).rejects.toThrow();
    expect(FTP_COMMANDS.filter((command) => command.public).map((command) => command.verb).sort()).toEqual([...publicVerbs].sort());
    fresh.close();
  });
});

describe('simple commands', () => {
  it('SYST, NOOP, ALLO, MODE, STRU', async () => {
    expect(await raw('SYST')).toBe('215 UNIX Type: L8\r\n');
    expect(await raw('NOOP')).toBe('200 NOOP ok\r\n');
    expect(await raw('ALLO 1000')).toBe('202 ALLO not needed; ignored\r\n');
    expect(await raw('MODE S')).toBe('200 Mode set to S\r\n');
    expect(await raw('mode b')).toBe('504 MODE B not implemented; use S\r\n');
    expect(await raw('MODE X')).toBe('501 MODE takes S, B or C\r\n');
    expect(await raw('STRU F')).toBe('200 Structure set to F\r\n');
    expect(await raw('STRU R')).toBe('504 STRU R not implemented; use F\r\n');
  });

  it('TYPE A, A N, I, L 8; others refused', async () => {
    expect(await raw('TYPE A')).toBe('200 Switching to ASCII mode\r\n');
    expect(await raw('TYPE A N')).toBe('200 Switching to ASCII mode\r\n');
    expect(await raw('type i')).toBe('200 Switching to Binary mode\r\n');
    expect(await raw('TYPE L 8')).toBe('200 Switching to Binary mode\r\n');
    expect(await raw('TYPE E')).toBe('504 TYPE E not implemented; use A or I\r\n');
    expect(await raw('TYPE L 7')).toBe('504 TYPE L 7 not implemented; use A or I\r\n');
    expect(await raw('TYPE Z')).toBe('501 TYPE takes A, A N, I or L 8\r\n');
  });

  it('FEAT lists exactly the extensions that work here', async () => {
    expect(await raw('FEAT')).toBe(
      '211-Features:\r\n EPRT\r\n EPSV\r\n HASH SHA-256*\r\n MDTM\r\n MFMT\r\n MLST type*;size*;modify*;perm*;UNIX.mode;\r\n' +
        ' REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n',
    );
  });

  it('OPTS UTF8, MLST and HASH', async () => {
    expect(await raw('OPTS UTF8 ON')).toBe('200 Always in UTF8 mode\r\n');
    expect(await raw('OPTS UTF8 OFF')).toBe('504 UTF8 cannot be turned off: names are always UTF-8\r\n');
    expect(await raw('OPTS MLST type;size;')).toBe('200 MLST OPTS type;size;\r\n');
    expect((await c.cmd('FEAT')).lines).toContain(' MLST type*;size*;modify;perm;UNIX.mode;');
    expect(await raw('OPTS HASH SHA-256')).toBe('200 SHA-256\r\n');
    expect(await raw('OPTS HASH MD5')).toBe('504 Unknown algorithm; this server offers SHA-256\r\n');
    expect(await raw('OPTS FOO')).toBe('501 Option not understood\r\n');
  });

  it('HELP lists every verb; HELP verb gives its syntax', async () => {
    const help = await c.cmd('HELP');
    expect(help.code).toBe(214);
    const verbs = help.lines.slice(1, -1).join(' ').trim().split(/\s+/);
    expect(verbs.sort()).toEqual(FTP_COMMANDS.flatMap((command) => [command.verb, ...(command.aliases ?? [])]).sort());
    expect(await raw('HELP retr')).toBe('214 Syntax: RETR <SP> <pathname>\r\n');
    expect(await raw('HELP FROB')).toBe('502 Unknown command.\r\n');
  });

  it('refuses arguments where none belong and missing ones where they are needed', async () => {
    expect(await raw('PWD x')).toBe('501 PWD takes no argument\r\n');
    expect(await raw('RETR')).toBe('501 RETR needs an argument\r\n');
    expect(await raw('FROB')).toBe('500 Unknown command\r\n');
    expect(await raw('TOOLONGVERB x')).toBe('500 Syntax error, command unrecognized\r\n');
  });

  it('STAT without an argument gives the session status (211)', async () => {
    const stat = await c.cmd('STAT');
    expect(stat.code).toBe(211);
    expect(stat.lines[0]).toBe('211-FTP server status:');
    expect(stat.lines).toContain('Working directory: /');
    expect(stat.lines.at(-1)).toBe('211 End of status');
  });

  it('STAT path lists over the control connection (213)', async () => {
    const stat = await c.cmd('STAT docs');
    expect(stat.lines[0]).toBe('213-Status of /docs:');
    expect(stat.lines[1]).toMatch(/^-rw-r--r-- 1 ftp ftp {12}9 \w{3} [ \d]\d [\d:]{5}| \d{4} readme\.md$/);
    expect(stat.lines.at(-1)).toBe('213 End of status');
  });
});

describe('navigation', () => {
  it('PWD, CWD, CDUP and their X aliases', async () => {
    expect(await raw('PWD')).toBe('257 "/" is the current directory\r\n');
    expect(await raw('CWD docs')).toBe('250 Directory successfully changed\r\n');
    expect(await raw('XPWD')).toBe('257 "/docs" is the current directory\r\n');
    expect(await raw('CDUP')).toBe('250 Directory successfully changed\r\n');
    expect(await raw('XCWD /docs/')).toBe('250 Directory successfully changed\r\n');
    expect(await raw('XCUP')).toBe('250 Directory successfully changed\r\n');
    expect(await raw('CDUP')).toBe('250 Directory successfully changed\r\n');
    expect(await raw('PWD')).toBe('257 "/" is the current directory\r\n');
  });

  it('CWD to a file or a missing folder is 550', async () => {
    expect(await raw('CWD a.txt')).toBe('550 Not a directory\r\n');
    expect(await raw('CWD nope')).toBe('550 No such file or directory\r\n');
  });

  it('MKD answers 257 with the path quoted and every " doubled; RMD removes it', async () => {
    expect(await raw('MKD say "hi"')).toBe('257 "/say ""hi""" created\r\n');
    expect((await fs.stat(path.join(h.root, 'say "hi"'))).isDirectory()).toBe(true);
    expect(await raw('XMKD say "hi"')).toBe('550 File exists\r\n');
    expect(await raw('RMD say "hi"')).toBe('250 Remove directory operation successful\r\n');
    expect(await raw('XRMD say "hi"')).toBe('550 No such file or directory\r\n');
    expect(await raw('RMD /')).toMatch(/^550 /);
  });

  it('RMD of a folder with files is 550 and keeps it', async () => {
    expect(await raw('RMD docs')).toBe('550 Directory not empty\r\n');
    expect((await h.read('docs/readme.md')).toString()).toBe('# readme\n');
  });
});

describe('files', () => {
  it('SIZE, MDTM and MFMT', async () => {
    expect(await raw('SIZE a.txt')).toBe('213 6\r\n');
    expect(await raw('SIZE docs')).toBe('550 Not a plain file\r\n');
    expect(await raw('SIZE nope')).toBe('550 No such file or directory\r\n');
    expect(await raw('MFMT 20200102030405 a.txt')).toBe('213 Modify=20200102030405; a.txt\r\n');
    expect(await raw('MDTM a.txt')).toBe('213 20200102030405\r\n');
    expect((await fs.stat(path.join(h.root, 'a.txt'))).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(await raw('MFMT 20201301000000 a.txt')).toBe('501 MFMT time must be YYYYMMDDHHMMSS[.sss], in UTC\r\n');
    await c.cmd('TYPE A');
    expect(await raw('SIZE a.txt')).toBe('550 SIZE not allowed in ASCII mode: use TYPE I\r\n');
  });

  it('MLST gives one entry with its full path', async () => {
    const reply = await c.cmd('MLST docs/readme.md');
    expect(reply.lines[0]).toBe('250-Listing /docs/readme.md');
    expect(reply.lines[1]).toMatch(/^ type=file;size=9;modify=\d{14}(\.\d{3})?;perm=adfrw; \/docs\/readme\.md$/);
    expect(reply.lines[2]).toBe('250 End');
    expect((await c.cmd('MLST')).lines[1]).toMatch(/^ type=dir;modify=\d{14}(\.\d{3})?;perm=cdeflmp; \/$/);
  });

  it('HASH gives the SHA-256 of the whole file', async () => {
    expect(await raw('HASH a.txt')).toBe(
      '213 SHA-256 0-6 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 a.txt\r\n',
    );
  });

  it('DELE deletes a file; a folder or a missing file is 550', async () => {
    await h.put('gone.txt', 'x');
    expect(await raw('DELE gone.txt')).toBe('250 Delete operation successful\r\n');
    expect(await raw('DELE gone.txt')).toBe('550 No such file or directory\r\n');
    expect(await raw('DELE docs')).toBe('550 Is a directory\r\n');
  });

  it('RNFR/RNTO renames; RNTO needs RNFR right before it', async () => {
    await h.put('old.txt', 'content');
    expect(await raw('RNTO new.txt')).toBe('503 Send RNFR first\r\n');
    expect(await raw('RNFR nope.txt')).toBe('550 No such file or directory\r\n');
    expect(await raw('RNFR old.txt')).toBe('350 Ready for RNTO\r\n');
    expect(await raw('NOOP')).toBe('200 NOOP ok\r\n');
    expect(await raw('RNTO new.txt')).toBe('503 Send RNFR first\r\n');
    expect(await raw('RNFR old.txt')).toBe('350 Ready for RNTO\r\n');
    expect(await raw('RNTO new.txt')).toBe('250 Rename successful\r\n');
    expect((await h.read('new.txt')).toString()).toBe('content');
    await expect(h.read('old.txt')).rejects.toThrow();
  });

  it('REST takes a whole number, refused in TYPE A', async () => {
    expect(await raw('REST 5')).toBe('350 Restarting at 5; send RETR or STOR to start the transfer\r\n');
    expect(await raw('REST 5000000000')).toBe('350 Restarting at 5000000000; send RETR or STOR to start the transfer\r\n');
    expect(await raw('REST -1')).toBe('501 REST takes a byte offset (a whole number)\r\n');
    expect(await raw('REST 99999999999999999')).toBe('501 REST takes a byte offset (a whole number)\r\n');
    await c.cmd('TYPE A');
    expect(await raw('REST 5')).toBe('504 REST is not supported in ASCII mode: use TYPE I\r\n');
  });
});

describe('data connections', () => {
  it('PASV answers 227 with the control connection\'s address; EPSV 229', async () => {
    expect(await raw('PASV')).toMatch(/^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.\r\n$/);
    expect(await raw('EPSV')).toMatch(/^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)\r\n$/);
    expect(await raw('EPSV 1')).toMatch(/^229 /);
    expect(await raw('EPSV 2')).toBe('522 Network protocol not supported, use (1)\r\n');
    expect(await raw('EPSV 3')).toBe('522 Network protocol not supported, use (1,2)\r\n');
    expect(await raw('EPSV x')).toBe('501 EPSV takes 1, 2 or ALL\r\n');
  });

  it('after EPSV ALL only EPSV sets up data connections', async () => {
    expect(await raw('EPSV ALL')).toBe('200 EPSV ALL ok\r\n');
    expect(await raw('PASV')).toBe('503 EPSV ALL in effect: use EPSV\r\n');
    expect(await raw('PORT 127,0,0,1,200,10')).toBe('503 EPSV ALL in effect: use EPSV\r\n');
    expect(await raw('EPSV')).toMatch(/^229 /);
  });

  it('PORT and EPRT to the client itself are accepted; bad syntax is 501', async () => {
    expect(await raw('PORT 127,0,0,1,200,10')).toBe('200 PORT command successful; consider using EPSV\r\n');
    expect(await raw('EPRT |1|127.0.0.1|51210|')).toBe('200 EPRT command successful; consider using EPSV\r\n');
    expect(await raw('PORT 1,2,3')).toBe('501 PORT needs h1,h2,h3,h4,p1,p2 (six numbers 0-255)\r\n');
    expect(await raw('EPRT |3|x|1|')).toBe('522 Network protocol not supported, use (1,2)\r\n');
  });

  it('a transfer command without PASV/PORT is 425', async () => {
    expect(await raw('RETR a.txt')).toBe('425 Use PASV, EPSV, PORT or EPRT first\r\n');
    expect(await raw('LIST')).toBe('425 Use PASV, EPSV, PORT or EPRT first\r\n');
  });

  it('RETR over an active (PORT) connection to the client', async () => {
    const { createServer } = await import('node:net');
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as { port: number };
    const accepted = new Promise<Buffer>((resolve) => listener.once('connection', (socket) => resolve(readAll(socket))));
    expect((await c.cmd(`EPRT |1|127.0.0.1|${port}|`)).code).toBe(200);
    expect((await c.cmd('RETR a.txt')).code).toBe(150);
    expect((await accepted).toString()).toBe('hello\n');
    expect((await c.read()).raw).toBe('226 Transfer complete\r\n');
    listener.close();
  });

  it('LIST, NLST and MLSD list a folder; a name with double spaces survives', async () => {
    const list = await transfer(c, 'LIST -la');
    expect(list.preliminary.raw).toBe('150 Here comes the directory listing\r\n');
    expect(list.final.raw).toBe('226 Directory send OK\r\n');
    const names = list.data.toString().split('\r\n').filter(Boolean).map((line) => line.split(/ +/).slice(8).join(' '));
    expect(names).toEqual(expect.arrayContaining(['a.txt', 'docs']));
    expect(list.data.toString()).toContain(' two  spaces .txt\r\n');
    const nlst = await transfer(c, 'NLST docs');
    expect(nlst.data.toString()).toBe('docs/readme.md\r\n');
    const mlsd = await transfer(c, 'MLSD docs');
    expect(mlsd.data.toString()).toMatch(/^type=file;size=9;modify=\d{14}(\.\d{3})?;perm=adfrw; readme\.md\r\n$/);
    const mlsdFile = await transfer(c, 'MLSD a.txt');
    expect(mlsdFile.final.raw).toBe('501 Not a directory: MLSD lists folders (use MLST for one entry)\r\n');
    const listFile = await transfer(c, 'LIST a.txt');
    expect(listFile.data.toString()).toMatch(/ a\.txt\r\n$/);
  });

  it('RETR, STOR, STOU and APPE move exact bytes; names with spaces work', async () => {
    const retr = await transfer(c, 'RETR two  spaces .txt');
    expect(retr.data.toString()).toBe('spaced');
    const stor = await transfer(c, 'STOR  lead and trail ', 'stored');
    expect(stor.preliminary.raw).toBe('150 Ok to send data\r\n');
    expect(stor.final.raw).toBe('226 Transfer complete\r\n');
    expect((await h.read(' lead and trail ')).toString()).toBe('stored');
    const appe = await transfer(c, 'APPE  lead and trail ', '+more');
    expect(appe.preliminary.raw).toBe('150 Ok to send data; appending after byte 6\r\n');
    expect((await h.read(' lead and trail ')).toString()).toBe('stored+more');
    const stou = await transfer(c, 'STOU', 'unique');
    const name = /^150 FILE: (stou-[0-9a-f]{16})\r\n$/.exec(stou.preliminary.raw)?.[1];
    expect(name).toBeDefined();
    expect(stou.final.raw).toBe(`226 Transfer complete (unique file name: ${name})\r\n`);
    expect((await h.read(name!)).toString()).toBe('unique');
  });

  it('RETR of a folder or a missing file is 550, before any data connection is used', async () => {
    const port = await c.passive();
    const data = await dataConnect(port);
    expect(await raw('RETR docs')).toBe('550 Is a directory\r\n');
    expect(await raw('RETR nope.txt')).toBe('550 No such file or directory\r\n');
    data.destroy();
  });

  it('STOR into a missing folder is 553', async () => {
    const stor = await transfer(c, 'STOR nope/x.txt', 'x');
    expect(stor.final.raw).toBe('553 Could not create file: the folder does not exist\r\n');
  });

  it('ABOR with nothing under way: 225, or 226 when a data connection was set up', async () => {
    expect(await raw('ABOR')).toBe('225 No transfer to abort\r\n');
    await c.passive();
    expect(await raw('ABOR')).toBe('226 ABOR successful; data connection closed\r\n');
  });
});

describe('resume and ASCII', () => {
  it('REST + RETR sends from the offset; an offset past the end is 554 and nothing is sent', async () => {
    await h.put('digits.txt', '0123456789');
    expect((await c.cmd('REST 4')).code).toBe(350);
    const tail = await transfer(c, 'RETR digits.txt');
    expect(tail.preliminary.raw).toBe('150 Opening BINARY mode data connection for /digits.txt (6 bytes)\r\n');
    expect(tail.data.toString()).toBe('456789');
    // REST applies to one transfer only.
    expect((await transfer(c, 'RETR digits.txt')).data.toString()).toBe('0123456789');
    expect((await c.cmd('REST 11')).code).toBe(350);
    const beyond = await transfer(c, 'RETR digits.txt');
    expect(beyond.final.raw).toBe('554 Requested action not taken: invalid REST parameter (beyond the end of the file)\r\n');
  });

  it('REST + STOR and APPE resume an upload in place', async () => {
    await h.put('part.bin', 'abcdefXXXX');
    expect((await c.cmd('REST 6')).code).toBe(350);
    expect((await transfer(c, 'STOR part.bin', 'ghij')).final.raw).toBe('226 Transfer complete\r\n');
    expect((await h.read('part.bin')).toString()).toBe('abcdefghij');
    expect((await transfer(c, 'APPE part.bin', 'kl')).final.code).toBe(226);
    expect((await h.read('part.bin')).toString()).toBe('abcdefghijkl');
    expect((await c.cmd('REST 99')).code).toBe(350);
    expect((await transfer(c, 'STOR part.bin', 'x')).final.code).toBe(554);
    expect((await h.read('part.bin')).toString()).toBe('abcdefghijkl');
  });

  it('resumes past 4 GiB (64-bit offsets) on a sparse file', async () => {
    const big = path.join(h.root, 'sparse.bin');
    const offset = 5 * 1024 ** 3;
    const handle = await fs.open(big, 'w');
    await handle.write(Buffer.from('past 5 GiB'), 0, 10, offset);
    await handle.close();
    expect((await c.cmd('SIZE sparse.bin')).raw).toBe(`213 ${offset + 10}\r\n`);
    expect((await c.cmd(`REST ${offset + 5}`)).raw).toBe(`350 Restarting at ${offset + 5}; send RETR or STOR to start the transfer\r\n`);
    expect((await transfer(c, 'RETR sparse.bin')).data.toString()).toBe('5 GiB');
    await fs.rm(big);
  });

  it('TYPE A converts LF to CRLF on the way out and CRLF to LF on the way in; TYPE I moves bytes as they are', async () => {
    await h.put('lines.txt', 'one\ntwo\r\nthree\n');
    expect((await c.cmd('TYPE A')).code).toBe(200);
    const down = await transfer(c, 'RETR lines.txt');
    expect(down.preliminary.raw).toMatch(/^150 Opening ASCII mode data connection for \/lines\.txt/);
    expect(down.data.toString()).toBe('one\r\ntwo\r\nthree\r\n');
    expect((await transfer(c, 'STOR up.txt', 'a\r\nb\r\n')).final.code).toBe(226);
    expect((await h.read('up.txt')).toString()).toBe('a\nb\n');
    expect((await c.cmd('TYPE I')).code).toBe(200);
    expect((await transfer(c, 'RETR lines.txt')).data.toString()).toBe('one\ntwo\r\nthree\n');
  });
});

describe('a storage that cannot resume uploads or set times (as on S3)', () => {
  it('FEAT leaves MFMT out, and APPE, REST+STOR and MFMT are refused with nothing written', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-caps-'));
    const local = await LocalStorage.create(base);
    const capabilities = { ...local.capabilities, resumableUploads: false, settableMtime: false };
    const storage = new Proxy(local, {
      get(target, key) {
        if (key === 'capabilities') return capabilities;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const s3like = await startFtp({ storage });
    try {
      await fs.writeFile(path.join(base, 'f.txt'), 'abc');
      const control = await s3like.login();
      const feat = await control.cmd('FEAT');
      expect(feat.lines).not.toContain(' MFMT');
      expect(feat.lines).toContain(' REST STREAM'); // RETR still resumes.
      expect((await transfer(control, 'APPE f.txt', 'def')).final.raw).toBe('550 Appending is not supported by this storage\r\n');
      expect((await control.cmd('REST 3')).code).toBe(350);
      expect((await transfer(control, 'STOR f.txt', 'def')).final.raw).toBe(
        '554 Requested action not taken: this storage cannot resume uploads (REST with STOR)\r\n',
      );
      expect((await control.cmd('MFMT 20200101000000 f.txt')).code).toBeGreaterThanOrEqual(500);
      expect(await fs.readFile(path.join(base, 'f.txt'), 'utf8')).toBe('abc');
      expect((await control.cmd('REST 1')).code).toBe(350);
      expect((await transfer(control, 'RETR f.txt')).data.toString()).toBe('bc');
      control.close();
    } finally {
      await s3like.stop();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});

describe('the control connection', () => {
  it('answers pipelined commands in order, from one write', async () => {
    c.write('NOOP\r\nPWD\r\nSYST\r\nFROB\r\nNOOP\r\n');
    const replies = [await c.read(), await c.read(), await c.read(), await c.read(), await c.read()];
    expect(replies.map((r) => r.code)).toEqual([200, 257, 215, 500, 200]);
  });

  it('takes a command split into single bytes, with a bare LF', async () => {
    for (const byte of Buffer.from('PWD\n')) c.write(Buffer.from([byte]));
    expect((await c.read()).raw).toBe('257 "/" is the current directory\r\n');
  });

  it('refuses an over-long line with 500 and goes on', async () => {
    c.write(`RETR ${'x'.repeat(20_000)}\r\nNOOP\r\n`);
    expect((await c.read()).raw).toBe('500 Command line too long\r\n');
    expect((await c.read()).raw).toBe('200 NOOP ok\r\n');
  });

  it('refuses a line that is not UTF-8 with 501 and touches nothing', async () => {
    c.write(Buffer.concat([Buffer.from('MKD bad'), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n')]));
    expect((await c.read()).raw).toBe('501 Command line is not valid UTF-8\r\n');
    expect((await fs.readdir(h.root)).some((name) => name.startsWith('bad'))).toBe(false);
  });

  it('QUIT answers 221 and closes', async () => {
    expect(await raw('QUIT')).toBe('221 Goodbye\r\n');
    await c.waitClosed();
  });
});
