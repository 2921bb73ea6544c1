import { tapCommandStarts } from '../../src/admin/command-tap';
import { MetricsObserver } from '../../src/admin/metrics';
import { combineObservers, type TransferStartObserver } from '../../src/admin/observers';
import { MemoryLog } from '../../src/logging/log';
import type { TransferRecord } from '../../src/server/observer';

const record: TransferRecord = {
  direction: 'download', filename: 'a', bytes: 5, expectedBytes: 5, durationMs: 3, ok: true, remote: '1.2.3.4:5',
};

describe('combineObservers', () => {
  it('forwards every hook to every observer, in order', () => {
    const calls: string[] = [];
    const recorder = (tag: string): TransferStartObserver => ({
      connection: (r) => calls.push(`${tag} connection ${r}`),
      sessionClosed: () => calls.push(`${tag} closed`),
      command: (n, c) => calls.push(`${tag} command ${n} ${c}`),
      transfer: (t) => calls.push(`${tag} transfer ${t.bytes}`),
      commandStarted: (n) => calls.push(`${tag} started ${n}`),
    });
    const both = combineObservers([recorder('a'), undefined, recorder('b'), {}]);
    both.connection!('accepted');
    both.commandStarted!('GET');
    both.command!('GET', 200, 1);
    both.transfer!(record);
    both.sessionClosed!();
    expect(calls).toEqual([
      'a connection accepted', 'b connection accepted',
      'a started GET', 'b started GET',
      'a command GET 200', 'b command GET 200',
      'a transfer 5', 'b transfer 5',
      'a closed', 'b closed',
    ]);
  });

  it('keeps a throwing observer from breaking the others, and reports it once', () => {
    const errors: unknown[] = [];
    let seen = 0;
    const both = combineObservers(
      [{ transfer: () => { throw new Error('broken'); } }, { transfer: () => (seen += 1) }],
      (err) => errors.push(err),
    );
    expect(() => {
      both.transfer!(record);
      both.transfer!(record);
    }).not.toThrow();
    expect(seen).toBe(2);
    expect(errors).toEqual([new Error('broken')]);
  });
});

describe('transfers in flight', () => {
  it('pairs tapped command starts with finished commands', () => {
    const metrics = new MetricsObserver({ defaultMetrics: false });
    const lines = new MemoryLog();
    const log = tapCommandStarts(lines, (name) => metrics.commandStarted(name)).child('Client-1.2.3.4:5');
    log.info('Command: GET a.txt');
    log.info('Command: PUT b.txt');
    log.info('Command: LS');
    log.info('GET: Sent file - Command: PUT x (5 bytes in 1 ms)'); // not a command line
    expect(metrics.snapshot().transfersInFlight).toBe(2);
    metrics.command('LS', 200, 1);
    metrics.command('GET', 200, 1);
    expect(metrics.snapshot().transfersInFlight).toBe(1);
    metrics.command('PUT', 226, 1);
    expect(metrics.snapshot().transfersInFlight).toBe(0);
    // Every line still reaches the log, under its label.
    expect(lines.lines.map((l) => `${l.label} ${l.message}`)).toEqual([
      'Client-1.2.3.4:5 Command: GET a.txt',
      'Client-1.2.3.4:5 Command: PUT b.txt',
      'Client-1.2.3.4:5 Command: LS',
      'Client-1.2.3.4:5 GET: Sent file - Command: PUT x (5 bytes in 1 ms)',
    ]);
  });

  it('switches to exact counting once the server reports transfer starts', () => {
    const metrics = new MetricsObserver({ defaultMetrics: false });
    metrics.commandStarted('GET');
    metrics.transferStarted({ direction: 'download', filename: 'a', expectedBytes: 5, remote: '1.2.3.4:5' });
    expect(metrics.snapshot().transfersInFlight).toBe(1);
    metrics.commandStarted('PUT'); // ignored from now on
    expect(metrics.snapshot().transfersInFlight).toBe(1);
    metrics.transfer(record);
    metrics.command('GET', 200, 1);
    expect(metrics.snapshot().transfersInFlight).toBe(0);
  });
});
