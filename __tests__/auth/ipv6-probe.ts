/**
 * Run by address-limits.test.ts inside a private network namespace whose
 * loopback holds several IPv6 addresses: starts a real server on [::] with
 * a per-address cap of 2, connects once from each address given, in order,
 * and prints one JSON line: the greeting code each connection got.
 *
 *   node -r ts-node/register/transpile-only ipv6-probe.ts ROOT ADDRESS...
 */
import net from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder';
import { FileServer } from '../../src/server/file-server';

function greeting(port: number, localAddress: string): Promise<{ code: unknown; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '::1', port, localAddress });
    const decoder = new FrameDecoder(65_536);
    const timer = setTimeout(() => reject(new Error(`no greeting for ${localAddress}`)), 5_000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      const frame = decoder.next();
      if (frame?.kind !== 'message') return;
      clearTimeout(timer);
      resolve({ code: frame.message.code, socket });
    });
  });
}

async function main(): Promise<void> {
  const [root, ...addresses] = process.argv.slice(2);
  const server = await FileServer.start({ root: root, host: '::', port: 0, limits: { maxConnectionsPerIp: 2, shutdownGraceMs: 500 } });
  const sockets: net.Socket[] = [];
  const codes: unknown[] = [];
  try {
    for (const address of addresses) {
      const { code, socket } = await greeting(server.port, address);
      codes.push(code);
      sockets.push(socket);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close(500);
  }
  process.stdout.write(`${JSON.stringify({ codes })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
