/**
 * What the FTP port does on S3 where an object store cannot do what a disk
 * does: APPE and REST+STOR (resumableUploads is false) and RNFR/RNTO of a
 * folder (atomicFolderRename is false) are refused with a permanent reply
 * before any byte moves, and the bucket is left as it was. A real FtpServer
 * on port 0 over S3Storage on s3rver, driven by a bare control connection.
 *
 * The FTP listener (src/ftp/ftp-server.ts) lands from its own branch: until
 * it is there, this file says so and skips; once merged, it runs.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ServerCore } from '../../src/core/server-core';
import { parseClientPath } from '../../src/storage/path-rules';
import { S3Storage } from '../../src/storage/s3/s3-storage';
import { S3RVER_CREDENTIALS, startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint';

const FTP_SERVER = path.join(__dirname, '..', '..', 'src', 'ftp', 'ftp-server.ts');
const HAS_FTP = fs.existsSync(FTP_SERVER);

/** The part of the FTP listener's module this test uses. */
interface FtpModule {
  FtpServer: { start(options: { core: ServerCore; host: string; port: number }): Promise<{ port: number; close(graceMs?: number): Promise<void> }> };
}

/** A control connection: send a line, read one (possibly multi-line) reply. */
class Control {
  private buffer = '';
  private waiter: (() => void) | undefined;
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<Control> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const control = new Control(socket);
    await control.reply();
    return control;
  }

  /** The next reply: its code and its last line's text. */
  async reply(timeoutMs = 10_000): Promise<{ code: number; text: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^(?:.*\r\n)*?(\d{3}) ([^\r\n]*)\r\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return { code: Number(match[1]), text: match[2] };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no FTP reply within ${timeoutMs} ms; have ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async send(line: string): Promise<{ code: number; text: string }> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

let s3: S3Endpoint;
let raw: S3Client;
let storage: S3Storage;
let core: ServerCore;
let ftp: Awaited<ReturnType<FtpModule['FtpServer']['start']>>;

(HAS_FTP ? describe : describe.skip)('the FTP port on S3', () => {
  beforeAll(async () => {
    s3 = await startS3Endpoint('ftp-on-s3');
    raw = s3.client();
    storage = S3Storage.create({
      bucket: s3.bucket, prefix: 'ftp', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true,
      clientFactory: (config) => new S3Client({ ...config, credentials: S3RVER_CREDENTIALS }),
    });
    core = await ServerCore.create({ storage });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { FtpServer } = require(FTP_SERVER) as FtpModule;
    ftp = await FtpServer.start({ core, host: '127.0.0.1', port: 0 });
  }, 60_000);
  afterAll(async () => {
    await ftp?.close(1_000);
    await core?.close();
    await s3?.stop();
  });

  const keys = async () =>
    ((await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'ftp/' }))).Contents ?? []).map((o) => o.Key).sort();

  it('refuses APPE (550) and REST+STOR (554) before any byte moves, and RNFR/RNTO of a folder (550); the bucket is unchanged', async () => {
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'ftp/part.bin', Body: 'first half' }));
    await storage.makeDirectory(parseClientPath('album'));
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'ftp/album/a.jpg', Body: 'a' }));
    const before = await keys();

    const control = await Control.open(ftp.port);
    try {
      const user = await control.send('USER tester');
      if (user.code === 331) expect((await control.send('PASS x')).code).toBe(230);
      else expect(user.code).toBe(230);
      expect((await control.send('TYPE I')).code).toBe(200);

      expect((await control.send('PASV')).code).toBe(227);
      const appe = await control.send('APPE part.bin');
      expect(appe.code).toBe(550);
      expect(appe.text).toMatch(/not supported/i);

      expect((await control.send('PASV')).code).toBe(227);
      expect((await control.send('REST 10')).code).toBe(350);
      const stor = await control.send('STOR part.bin');
      expect(stor.code).toBe(554);
      expect(stor.text).toMatch(/cannot resume uploads/);

      expect((await control.send('RNFR album')).code).toBe(350);
      const rnto = await control.send('RNTO photos');
      expect(rnto.code).toBe(550);
      expect(rnto.text).toMatch(/not supported/i);

      // A file still renames (a copy, then a delete).
      expect((await control.send('RNFR album/a.jpg')).code).toBe(350);
      expect((await control.send('RNTO a.jpg')).code).toBe(250);
      expect((await control.send('QUIT')).code).toBe(221);
    } finally {
      control.close();
    }
    expect(await keys()).toEqual(before.map((k) => (k === 'ftp/album/a.jpg' ? 'ftp/a.jpg' : k)).sort());
    expect(await storage.stat(parseClientPath('part.bin'))).toMatchObject({ size: 'first half'.length });
  });
});

