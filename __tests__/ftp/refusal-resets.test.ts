/**
 * A hostile client floods both ports of one door with connections it
 * resets (TCP RST) the moment they open, while the per-address cap is
 * full, so the server writes refusals (`421`, the native `429`) to sockets
 * that may already be gone. No socket error may escape (jest fails the
 * file on an uncaught one, as it would end a real server), nothing is
 * logged as an ERROR, and the server goes on serving both ports with every
 * place given back. (On loopback the resets land before the door writes,
 * so this run shows the path survives; it did not reproduce a crash of the
 * code before it.)
 */
import net from 'node:net';
import { RawConnection } from '../helpers/raw-connection';
import { startFtp, within } from './helpers/ftp-harness';

/** Open a connection and reset it at once, before or while the server answers. */
function connectAndReset(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => resolve());
    socket.once('connect', () => {
      socket.resetAndDestroy();
      resolve();
    });
  });
}

it('survives refused connections reset mid-refusal on both ports, and serves after', async () => {
  const h = await startFtp({ native: true, limits: { maxConnectionsPerIp: 1, rateLimit: 0 } });
  try {
    const holder = await h.connect();
    const resets = [];
    for (let i = 0; i < 150; i++) resets.push(connectAndReset(h.port), connectAndReset(h.native!.port));
    await Promise.all(resets);
    // Refusals are throttled in the log; at least one was written.
    await within(
      (async () => {
        while (!h.log.lines.some((l) => /Refused (FTP )?connection from/.test(l.message))) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'a refusal line',
    );
    // The held place is the only one: give it back and both ports serve.
    holder.close();
    await within(
      (async () => {
        while (h.ftp.activeSessions > 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'the holder released',
    );
    const ftp = await h.connect();
    expect(ftp.greeting?.code).toBe(220);
    ftp.close();
    await within(
      (async () => {
        while (h.ftp.activeSessions > 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'the FTP client released',
    );
    const { conn, greeting } = await RawConnection.open(h.native!.port);
    expect(greeting).toMatchObject({ code: 200 });
    conn.socket.destroy();
    expect(h.log.lines.filter((l) => l.level === 'ERROR').map((l) => l.message)).toEqual([]);
  } finally {
    await h.stop();
  }
});
