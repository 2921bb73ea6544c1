import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSelfSigned, writeCertificatePair, type CertificatePair } from '../../src/auth/self-signed';

let pair: CertificatePair;
let base: string;
beforeAll(async () => {
  pair = await createSelfSigned();
});
beforeEach(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'ftp-cert-out-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fsp.rm(base, { recursive: true, force: true });
});

const modeOf = async (file: string) => (await fsp.lstat(file)).mode & 0o777;

describe('cert --out in a folder others can write to', () => {
  it('does not follow links planted at the temporary names the old code used, and leaves no temp file', async () => {
    const out = path.join(base, 'shared');
    await fsp.mkdir(out);
    const victim = path.join(base, 'victim.txt');
    await fsp.writeFile(victim, 'do not touch');
    // What another local user could plant: the old names were key.pem.<pid>.tmp.
    for (const name of ['key.pem', 'cert.pem']) await fsp.symlink(victim, path.join(out, `${name}.${process.pid}.tmp`));

    const files = await writeCertificatePair(out, pair);

    expect(await fsp.readFile(victim, 'utf8')).toBe('do not touch');
    expect(await fsp.readFile(files.key, 'utf8')).toBe(pair.key);
    expect(await fsp.readFile(files.cert, 'utf8')).toBe(pair.cert);
    expect((await fsp.lstat(files.key)).isFile()).toBe(true);
    expect(await modeOf(files.key)).toBe(0o600);
    expect(await modeOf(files.cert)).toBe(0o644);
    expect(new X509Certificate(await fsp.readFile(files.cert)).checkPrivateKey(createPrivateKey(await fsp.readFile(files.key)))).toBe(true);
    expect((await fsp.readdir(out)).sort()).toEqual(['cert.pem', `cert.pem.${process.pid}.tmp`, 'key.pem', `key.pem.${process.pid}.tmp`]);
  });

  it('creates each temporary file exclusively, private (0600), under a name nobody can guess', async () => {
    const opened: Array<{ name: string; flags: unknown; mode: unknown }> = [];
    const realOpen = fsp.open.bind(fsp);
    jest.spyOn(fs.promises, 'open').mockImplementation((file, flags, mode) => {
      opened.push({ name: path.basename(String(file)), flags, mode });
      return realOpen(file, flags, mode);
    });
    await writeCertificatePair(path.join(base, 'one'), pair);
    await writeCertificatePair(path.join(base, 'two'), pair);

    expect(opened).toHaveLength(4);
    for (const { name, flags, mode } of opened) {
      expect(name).toMatch(/^\.(key|cert)\.pem\.[0-9a-f]{24}\.tmp$/);
      expect(flags).toBe('wx');
      expect(mode).toBe(0o600);
    }
    expect(new Set(opened.map((o) => o.name)).size).toBe(4);
  });

  it('removes its temporary file when the final rename fails, and keeps what was there', async () => {
    const out = path.join(base, 'blocked');
    // A folder where key.pem should go: the rename over it fails.
    await fsp.mkdir(path.join(out, 'key.pem'), { recursive: true });
    await fsp.writeFile(path.join(out, 'key.pem', 'inside'), 'kept');
    await expect(writeCertificatePair(out, pair, true)).rejects.toThrow();
    expect(await fsp.readdir(out)).toEqual(['key.pem']);
    expect(await fsp.readFile(path.join(out, 'key.pem', 'inside'), 'utf8')).toBe('kept');
  });
});
