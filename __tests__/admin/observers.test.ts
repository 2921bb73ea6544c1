import { MetricsObserver } from '../../src/admin/metrics';
import { combineObservers } from '../../src/admin/observers';
import type { ServerObserver, TransferRecord } from '../../src/core/observer';

const record: TransferRecord = {
  direction: 'download', filename: 'a', bytes: 5, expectedBytes: 5, durationMs: 3, ok: true, remote: '1.2.3.4:5', protocol: 'native',
};

describe('combineObservers', () => {
  it('forwards every hook to every observer, in order', () => {
    const calls: string[] = [];
    const recorder = (tag: string): ServerObserver => ({
      connection: (r) => calls.push(`${tag} connection ${r}`),
      sessionClosed: () => calls.push(`${tag} closed`),
      command: (n, c) => calls.push(`${tag} command ${n} ${c}`),
      transfer: (t) => calls.push(`${tag} transfer ${t.bytes}`),
      transferStarted: (t) => calls.push(`${tag} started ${t.filename}`),
    });
    const both = combineObservers([recorder('a'), undefined, recorder('b'), {}]);
    both.connection!('accepted', 'native');
    both.transferStarted!({ direction: 'download', filename: 'a', expectedBytes: 5, remote: '1.2.3.4:5', protocol: 'native' });
    both.command!('GET', 200, 1, 'native');
    both.transfer!(record);
    both.sessionClosed!('native');
    expect(calls).toEqual([
      'a connection accepted', 'b connection accepted',
      'a started a', 'b started a',
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
  it('counts transfers between their start and their record', () => {
    const metrics = new MetricsObserver({ defaultMetrics: false });
    const start = { direction: 'download' as const, filename: 'a', expectedBytes: 5, remote: '1.2.3.4:5', protocol: 'native' as const };
    metrics.transferStarted(start);
    metrics.transferStarted({ ...start, direction: 'upload' });
    expect(metrics.snapshot().transfersInFlight).toBe(2);
    metrics.transfer(record);
    expect(metrics.snapshot().transfersInFlight).toBe(1);
    metrics.transfer({ ...record, direction: 'upload', ok: false });
    expect(metrics.snapshot().transfersInFlight).toBe(0);
  });
});
