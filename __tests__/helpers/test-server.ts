import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ServerLimits } from '../../src/config/defaults';
import { MemoryLog } from '../../src/logging/log';
import { FileServer } from '../../src/server/file-server';
import type { Clock } from '../../src/util/clock';

/** A real server on 127.0.0.1, an ephemeral port and a fresh temp root. */
export interface TestServer {
  server: FileServer;
  port: number;
  /** The served folder (a fresh temp dir). */
  root: string;
  /** A temp dir beside the root, for files that must stay outside it. */
  outside: string;
  log: MemoryLog;
  /** Write a file under the root. */
  put(relative: string, content: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServer(
  options: { limits?: Partial<ServerLimits>; clock?: Clock } = {},
): Promise<TestServer> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ftp-test-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  const log = new MemoryLog();
  const server = await FileServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    log,
    clock: options.clock,
    limits: { shutdownGraceMs: 2_000, ...options.limits },
  });
  return {
    server,
    port: server.port,
    root,
    outside,
    log,
    async put(relative, content) {
      const target = path.join(root, relative);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.writeFile(target, content);
    },
    async stop() {
      await server.close(1_000);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}
