import fc from 'fast-check';
import {
  canonicalIp,
  checkActiveTarget,
  extendedPassiveReplyText,
  NETWORK_PROTOCOLS_TEXT,
  parseEprtArgument,
  parseEpsvArgument,
  parsePassiveAddress,
  parsePassivePortRange,
  parsePortArgument,
  passiveAdvertisedAddress,
  passiveReplyText,
} from '../../src/ftp/data-address';

describe('PORT', () => {
  it.each([
    ['127,0,0,1,4,1', '127.0.0.1', 1025],
    ['192,168,1,2,255,255', '192.168.1.2', 65535],
    ['10,0,0,1,0,1', '10.0.0.1', 1],
    ['010,000,0,1,0,21', '10.0.0.1', 21],
  ])('%s -> %s:%d', (arg, host, port) => {
    expect(parsePortArgument(arg)).toEqual({ host, port, family: 4 });
  });

  it.each([
    '',
    '127,0,0,1,4',
    '127,0,0,1,4,1,9',
    '256,0,0,1,4,1',
    '127,0,0,1,256,1',
    '127,0,0,1,-1,1',
    '127, 0,0,1,4,1',
    '127,0,0,1,4,1 ',
    '127,0,0,1,4,',
    '127.0.0.1,4,1',
    '0x7f,0,0,1,4,1',
    '127,0,0,1,0,0',
    '1e2,0,0,1,4,1',
    '1234,0,0,1,4,1',
  ])('refuses %j as a syntax error (501)', (arg) => {
    expect(parsePortArgument(arg)).toMatchObject({ error: 'syntax' });
  });
});

describe('EPRT', () => {
  it.each([
    ['|1|132.235.1.2|6275|', { host: '132.235.1.2', port: 6275, family: 4 }],
    ['|2|1080::8:800:200C:417A|5282|', { host: '1080::8:800:200c:417a', port: 5282, family: 6 }],
    ['|2|::1|5282|', { host: '::1', port: 5282, family: 6 }],
    ['!1!10.0.0.1!2000!', { host: '10.0.0.1', port: 2000, family: 4 }],
    ['~2~::ffff:10.0.0.1~2000~', { host: '::ffff:a00:1', port: 2000, family: 6 }],
  ])('%s', (arg, expected) => {
    expect(parseEprtArgument(arg)).toEqual(expected);
  });

  it('accepts every delimiter from 33 to 126 that is not part of the fields', () => {
    for (let code = 33; code <= 126; code++) {
      const d = String.fromCharCode(code);
      const result = parseEprtArgument(`${d}1${d}10.1.2.3${d}4000${d}`);
      if (/[0-9.1]/.test(d)) continue; // a digit or dot collides with the fields themselves
      expect(result).toEqual({ host: '10.1.2.3', port: 4000, family: 4 });
    }
  });

  it.each([
    ['', 'empty'],
    [' |1|1.2.3.4|5|', 'a space as delimiter'],
    ['\x7f1\x7f1.2.3.4\x7f5\x7f', 'DEL as delimiter'],
    ['|1|1.2.3.4|5', 'missing last delimiter'],
    ['|1|1.2.3.4|5||', 'extra field'],
    ['|1|1.2.3|5|', 'short IPv4'],
    ['|1|::1|5|', 'IPv6 under proto 1'],
    ['|2|1.2.3.4|5|', 'IPv4 under proto 2'],
    ['|2|fe80::1%eth0|5|', 'an IPv6 zone id'],
    ['|2|1::2::3|5|', 'two ::'],
    ['|1|1.2.3.4|0|', 'port 0'],
    ['|1|1.2.3.4|65536|', 'port 65536'],
    ['|1|1.2.3.4|+80|', 'signed port'],
    ['|1|1.2.3.4||', 'no port'],
    ['|x|1.2.3.4|80|', 'proto not a number'],
    ['|1|localhost|80|', 'a host name'],
  ])('refuses %j (%s) as a syntax error', (arg) => {
    expect(parseEprtArgument(arg)).toMatchObject({ error: 'syntax' });
  });

  it('answers an unknown network protocol with 522 text listing 1 and 2', () => {
    expect(parseEprtArgument('|3|1.2.3.4|80|')).toEqual({ error: 'protocol', message: NETWORK_PROTOCOLS_TEXT });
  });

  it('property: any garbage never throws and never yields a port outside 1-65535', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (arg) => {
        for (const result of [parseEprtArgument(arg), parsePortArgument(arg)]) {
          if ('error' in result) continue;
          expect(result.port).toBeGreaterThanOrEqual(1);
          expect(result.port).toBeLessThanOrEqual(65535);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('EPSV', () => {
  it('reads no argument, 1, 2 and ALL', () => {
    expect(parseEpsvArgument('')).toEqual({ kind: 'any' });
    expect(parseEpsvArgument('1')).toEqual({ kind: 'family', family: 4 });
    expect(parseEpsvArgument('2')).toEqual({ kind: 'family', family: 6 });
    expect(parseEpsvArgument('all')).toEqual({ kind: 'all' });
    expect(parseEpsvArgument('7')).toEqual({ error: 'protocol', message: NETWORK_PROTOCOLS_TEXT });
    expect(parseEpsvArgument('ALL ')).toMatchObject({ error: 'syntax' });
  });
});

describe('227 and 229 replies', () => {
  it('formats PASV and EPSV answers that clients parse', () => {
    expect(passiveReplyText('192.168.1.2', 50001)).toBe('Entering Passive Mode (192,168,1,2,195,81).');
    expect(extendedPassiveReplyText(50001)).toBe('Entering Extended Passive Mode (|||50001|)');
  });

  it('round-trips: the 227 numbers fed back as PORT give the same address', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        const numbers = /\((.*)\)/.exec(passiveReplyText(ip, port))![1];
        expect(parsePortArgument(numbers)).toEqual({ host: ip, port, family: 4 });
      }),
    );
  });

  it('refuses to advertise what 227 cannot carry', () => {
    expect(() => passiveReplyText('::1', 5000)).toThrow(RangeError);
    expect(() => passiveReplyText('1.2.3.4', 0)).toThrow(RangeError);
    expect(() => extendedPassiveReplyText(70000)).toThrow(RangeError);
  });
});

describe('the FTP-bounce rule (RFC 2577)', () => {
  const target = (host: string, port: number) => ({ host, port, family: 4 as const });

  it('allows only the control connection’s own address, on a port >= 1024', () => {
    expect(checkActiveTarget(target('127.0.0.1', 1024), '127.0.0.1')).toEqual({ ok: true });
    expect(checkActiveTarget(target('127.0.0.1', 1023), '127.0.0.1')).toEqual({ ok: false, reason: 'privileged_port' });
    expect(checkActiveTarget(target('127.0.0.1', 25), '127.0.0.1')).toEqual({ ok: false, reason: 'privileged_port' });
    expect(checkActiveTarget(target('127.0.0.2', 5000), '127.0.0.1')).toEqual({ ok: false, reason: 'foreign_address' });
    expect(checkActiveTarget(target('10.0.0.1', 5000), '127.0.0.1')).toEqual({ ok: false, reason: 'foreign_address' });
  });

  it('sees an IPv4 peer through a dual-stack listener (::ffff:) as the same address', () => {
    expect(checkActiveTarget(target('127.0.0.1', 5000), '::ffff:127.0.0.1')).toEqual({ ok: true });
    expect(checkActiveTarget({ host: '::ffff:7f00:1', port: 5000, family: 6 }, '127.0.0.1')).toEqual({ ok: true });
    expect(checkActiveTarget(target('127.0.0.2', 5000), '::ffff:127.0.0.1')).toMatchObject({ ok: false });
  });

  it('compares IPv6 in canonical form', () => {
    const v6 = (host: string) => ({ host, port: 5000, family: 6 as const });
    expect(checkActiveTarget(v6('::1'), '0:0:0:0:0:0:0:1')).toEqual({ ok: true });
    expect(checkActiveTarget(v6('2001:DB8::1'), '2001:db8:0::1')).toEqual({ ok: true });
    expect(checkActiveTarget(v6('2001:db8::2'), '2001:db8::1')).toMatchObject({ ok: false, reason: 'foreign_address' });
  });

  it('refuses when the peer is not an IP literal at all', () => {
    expect(checkActiveTarget(target('127.0.0.1', 5000), '')).toMatchObject({ ok: false });
    expect(checkActiveTarget(target('127.0.0.1', 5000), 'localhost')).toMatchObject({ ok: false });
  });

  it('canonicalises mapped addresses both ways', () => {
    expect(canonicalIp('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(canonicalIp('::ffff:a01:203')).toBe('10.1.2.3');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('1.2.3')).toBeUndefined();
  });
});

describe('passive options', () => {
  it('parses --pasv-ports', () => {
    expect(parsePassivePortRange('50000-50100')).toEqual({ min: 50000, max: 50100 });
    expect(parsePassivePortRange('1024-1024')).toEqual({ min: 1024, max: 1024 });
    for (const bad of ['50000', '50100-50000', '80-90', '1024-65536', 'a-b', '-5', '50000-', '1024 - 2000']) {
      expect(parsePassivePortRange(bad)).toHaveProperty('error');
    }
  });

  it('accepts only an IPv4 literal as --pasv-address', () => {
    expect(parsePassiveAddress('203.0.113.7')).toBe('203.0.113.7');
    for (const bad of ['example.org', '::1', '203.0.113', '', '203.0.113.256']) {
      expect(parsePassiveAddress(bad)).toHaveProperty('error');
    }
  });

  it('advertises the configured address, else the IPv4 local address, else nothing (use EPSV)', () => {
    expect(passiveAdvertisedAddress('203.0.113.7', '10.0.0.5')).toBe('203.0.113.7');
    expect(passiveAdvertisedAddress('203.0.113.7', '::1')).toBe('203.0.113.7');
    expect(passiveAdvertisedAddress(undefined, '10.0.0.5')).toBe('10.0.0.5');
    expect(passiveAdvertisedAddress(undefined, '::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(passiveAdvertisedAddress(undefined, '::1')).toBeUndefined();
  });
});
