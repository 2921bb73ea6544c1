import { SlotLedger } from '../../src/cluster/slot-ledger';

/** A promise with its resolve/reject handles, to hold an "in-flight command" open. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SlotLedger', () => {
  test('take and give count per IP and never go below zero', () => {
    const ledger = new SlotLedger();
    ledger.take('a');
    ledger.take('a');
    ledger.take('b');
    expect([ledger.slots('a'), ledger.slots('b'), ledger.ips().sort()]).toEqual([2, 1, ['a', 'b']]);
    expect(ledger.give('b')).toBe(true);
    expect(ledger.give('b')).toBe(false);
    expect([ledger.slots('b'), ledger.ips()]).toEqual([0, ['a']]);
  });

  test('a failed operation marks its IP unsure; the snapshot writes held and unsure IPs until settled', async () => {
    const ledger = new SlotLedger();
    ledger.take('a');
    await expect(ledger.run(() => Promise.reject(new Error('timed out')), 'gone')).rejects.toThrow('timed out');
    await expect(ledger.run(() => Promise.reject(new Error('timed out')))).rejects.toThrow();
    expect(ledger.hasUnsure).toBe(true);
    expect(ledger.snapshot().sort()).toEqual([['a', 1], ['gone', 0]]);
    ledger.settled(['gone']);
    expect(ledger.hasUnsure).toBe(false);
    expect(ledger.snapshot()).toEqual([['a', 1]]);
  });

  test('an exclusive section waits for operations in flight, and new operations wait for it', async () => {
    const ledger = new SlotLedger();
    const order: string[] = [];
    const first = deferred<void>();
    const running = ledger.run(async () => {
      order.push('op1 start');
      await first.promise;
      // It fails: its IP must be unsure before the section looks.
      throw new Error('lost answer');
    }, 'x').catch(() => undefined);
    const section = ledger.exclusive(async () => {
      order.push(`section sees unsure=${ledger.hasUnsure}`);
      await flush();
      order.push('section end');
    });
    const later = ledger.run(async () => {
      order.push('op2');
    });
    await flush();
    expect(order).toEqual(['op1 start']);
    first.resolve();
    await Promise.all([running, section, later]);
    expect(order).toEqual(['op1 start', 'section sees unsure=true', 'section end', 'op2']);
  });

  test('two exclusive sections run one after the other', async () => {
    const ledger = new SlotLedger();
    const order: string[] = [];
    const section = (name: string) =>
      ledger.exclusive(async () => {
        order.push(`${name} start`);
        await flush();
        order.push(`${name} end`);
      });
    await Promise.all([section('a'), section('b')]);
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end']);
  });
});
