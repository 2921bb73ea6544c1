/**
 * The storage contract on LocalStorage, in a real temp folder. Beside the
 * served `root` lies `root-evil` (a sibling whose name starts with the
 * root's: a `startsWith` check would let it in) with a file in it; the whole
 * outside tree must come out of every test byte-identical.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local-storage';
import { describeStorageContract } from './contract';

/** Every file under `dir` with its content, and every folder. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = entry.isDirectory() ? '<dir>' : await fsp.readFile(full, 'utf8');
  }
  return out;
}

describeStorageContract('LocalStorage', async () => {
  const base = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'ftp-contract-')));
  const root = path.join(base, 'root');
  const evil = path.join(base, 'root-evil');
  await fsp.mkdir(path.join(evil, 'sub'), { recursive: true });
  await fsp.writeFile(path.join(evil, 'secret.txt'), 'outside secret');
  await fsp.writeFile(path.join(evil, 'sub', 'keep.txt'), 'outside keep');
  const outsideBefore = await tree(evil);
  const storage = await LocalStorage.create(root, { createRoot: true });
  return {
    storage,
    async seed(clientPath, content) {
      const target = path.join(root, ...clientPath.split('/').filter(Boolean));
      if (content === 'dir') await fsp.mkdir(target);
      else await fsp.writeFile(target, content);
    },
    async linkOutside(clientPath, to) {
      const target = { dir: evil, file: path.join(evil, 'secret.txt'), missing: path.join(evil, 'missing.txt') }[to];
      await fsp.symlink(target, path.join(root, ...clientPath.split('/').filter(Boolean)));
    },
    async cleanup() {
      try {
        expect(await tree(evil)).toEqual(outsideBefore);
        expect(await fsp.readdir(base)).toEqual(['root', 'root-evil']);
      } finally {
        await fsp.rm(base, { recursive: true, force: true });
      }
    },
  };
});
