import { SessionRegistry, type Admission } from '../../src/core/session-registry';

type Session = { id: number };

function admitted(a: Admission): Extract<Admission, { admitted: true }> {
  if (!a.admitted) throw new Error(`expected admission, got ${a.reason}`);
  return a;
}

describe('SessionRegistry', () => {
  it('refuses past the total limit with 503', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 3, maxConnectionsPerIp: 10 });
    for (let i = 0; i < 3; i++) admitted(reg.admit(`10.0.0.${i}`, { id: i }));
    expect(reg.admit('10.0.0.9', { id: 9 })).toEqual({
      admitted: false,
      reason: 'max_connections',
      message: 'Connection limit reached',
    });
    expect(reg.size).toBe(3);
    expect(reg.countForIp('10.0.0.9')).toBe(0);
  });

  it('refuses past the per-IP limit with 429, other IPs unaffected', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 10, maxConnectionsPerIp: 2 });
    admitted(reg.admit('a', { id: 1 }));
    admitted(reg.admit('a', { id: 2 }));
    expect(reg.admit('a', { id: 3 })).toEqual({
      admitted: false,
      reason: 'max_connections_per_ip',
      message: 'Too many connections from your address',
    });
    admitted(reg.admit('b', { id: 4 }));
    expect(reg.countForIp('a')).toBe(2);
    expect(reg.countForIp('b')).toBe(1);
    expect(reg.size).toBe(3);
  });

  it('checks the total limit before the per-IP one', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 2, maxConnectionsPerIp: 2 });
    admitted(reg.admit('a', { id: 1 }));
    admitted(reg.admit('a', { id: 2 }));
    const refused = reg.admit('a', { id: 3 });
    expect(refused.admitted === false && refused.reason).toBe('max_connections');
  });

  it('gives the place back on release, so a refused IP gets in again', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 10, maxConnectionsPerIp: 1 });
    const first = { id: 1 };
    admitted(reg.admit('a', first));
    expect(reg.admit('a', { id: 2 }).admitted).toBe(false);
    reg.release('a', first);
    admitted(reg.admit('a', { id: 2 }));
    expect(reg.countForIp('a')).toBe(1);
  });

  it('releases only once, however often release() is called', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 10, maxConnectionsPerIp: 10 });
    const one = { id: 1 };
    admitted(reg.admit('a', one));
    admitted(reg.admit('a', { id: 2 }));
    reg.release('a', one);
    reg.release('a', one);
    reg.release('a', one);
    expect(reg.size).toBe(1);
    expect(reg.countForIp('a')).toBe(1);
    expect([...reg.values()].map((s) => s.id)).toEqual([2]);
  });

  it('leaves no per-IP entries once every session is released', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 5_000, maxConnectionsPerIp: 5 });
    const held: Array<[string, Session]> = [];
    for (let i = 0; i < 5_000; i++) {
      const ip = `10.0.${Math.floor(i / 250) % 4}.${i % 250}`;
      const session = { id: i };
      admitted(reg.admit(ip, session));
      held.push([ip, session]);
    }
    expect(reg.size).toBe(5_000);
    expect(reg.ipCount).toBe(1_000);
    for (const [ip, session] of held.reverse()) reg.release(ip, session);
    expect(reg.size).toBe(0);
    expect(reg.ipCount).toBe(0);
    expect(reg.countForIp('10.0.0.4')).toBe(0);
    expect([...reg.values()]).toEqual([]);
  });

  it('iterates open sessions in admission order, and survives release during iteration', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 10, maxConnectionsPerIp: 10 });
    const sessions = [1, 2, 3, 4].map((id) => ({ id }));
    for (const s of sessions) admitted(reg.admit('a', s));
    reg.release('a', sessions[1]);
    expect([...reg.values()].map((s) => s.id)).toEqual([1, 3, 4]);

    // Shutdown: close (and so release) each session as it is visited.
    const visited: number[] = [];
    for (const s of reg.values()) {
      visited.push(s.id);
      reg.release('a', s);
    }
    expect(visited).toEqual([1, 3, 4]);
    expect(reg.size).toBe(0);
    expect(reg.ipCount).toBe(0);
  });

  it('refuses to register one item twice', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: 10, maxConnectionsPerIp: 10 });
    const s = { id: 1 };
    admitted(reg.admit('a', s));
    expect(() => reg.admit('a', s)).toThrow(/twice/);
    expect(reg.countForIp('a')).toBe(1);
  });

  it('accepts Infinity as no limit and rejects nonsense limits', () => {
    const reg = new SessionRegistry<Session>({ maxConnections: Infinity, maxConnectionsPerIp: Infinity });
    for (let i = 0; i < 100; i++) admitted(reg.admit('a', { id: i }));
    expect(() => new SessionRegistry({ maxConnections: 0, maxConnectionsPerIp: 1 })).toThrow(RangeError);
    expect(() => new SessionRegistry({ maxConnections: 1, maxConnectionsPerIp: 1.5 })).toThrow(RangeError);
    expect(() => new SessionRegistry({ maxConnections: NaN, maxConnectionsPerIp: 1 })).toThrow(RangeError);
  });
});
