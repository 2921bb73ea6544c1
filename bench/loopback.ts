import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';

/**
 * The ceiling: how fast two plain Node processes can push bytes through
 * loopback on this machine right now. The receiver is a child process, as
 * the server is, so both sides have a core each, like the real tests.
 */

/**
 * The receiver, run with `node -e`: each connection announces its length in
 * an 8-byte header, and gets one byte back once that many bytes arrived.
 */
const SINK_SCRIPT = `
const net = require('node:net');
const server = net.createServer((socket) => {
  let header = Buffer.alloc(0), expected = -1n, received = 0n;
  socket.on('data', (chunk) => {
    if (expected < 0n) {
      header = Buffer.concat([header, chunk]);
      if (header.length < 8) return;
      expected = header.readBigUInt64BE(0);
      chunk = header.subarray(8);
    }
    received += BigInt(chunk.length);
    if (received >= expected) socket.end('k');
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** A running receiver. */
export interface LoopbackSink {
  port: number;
  stop(): void;
}

/** Start the receiver child; it exits when its stdin closes (so it cannot outlive the bench). */
export async function startLoopbackSink(): Promise<LoopbackSink> {
  const child = spawn(process.execPath, ['-e', SINK_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    child.once('exit', (code) => reject(new Error(`the loopback receiver exited (${code})`)));
  });
  return {
    port,
    stop() {
      lines.close();
      child.stdin?.end();
    },
  };
}

/**
 * Push `totalBytes` to the sink in writes of `writeBytes`, honouring
 * backpressure, and time it until the receiver confirms the last byte.
 * @returns throughput in 10^6 bytes per second.
 */
export async function measureLoopback(port: number, totalBytes: number, writeBytes: number): Promise<number> {
  const block = Buffer.alloc(writeBytes, 0x5a);
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const acked = new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the loopback receiver closed before confirming')));
  });
  const started = process.hrtime.bigint();
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(totalBytes));
  socket.write(header);
  let sent = 0;
  while (sent < totalBytes) {
    const n = Math.min(writeBytes, totalBytes - sent);
    sent += n;
    if (!socket.write(n === writeBytes ? block : block.subarray(0, n))) {
      await new Promise((resolve) => socket.once('drain', resolve));
    }
  }
  await acked;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  socket.destroy();
  return totalBytes / 1e6 / seconds;
}
