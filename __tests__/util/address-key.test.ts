import { addressKey, normaliseIp } from '../../src/util/address-key';

describe('addressKey: the one key of every per-address limit', () => {
  it('keeps an IPv4 address as it is, also when it arrives IPv4-mapped', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseIp(undefined)).toBe('unknown');
  });

  it('gives every address of one IPv6 /64 the same key, however it is written', () => {
    const spellings = [
      '2001:db8:1:2::a',
      '2001:db8:1:2:ffff::b',
      '2001:0db8:0001:0002:0000:0000:0000:000c',
      '2001:DB8:1:2:aaaa:bbbb:cccc:dddd',
      '2001:db8:1:2::192.0.2.1',
      '2001:db8:1:2::1%eth0',
    ];
    expect(new Set(spellings.map(addressKey))).toEqual(new Set(['2001:db8:1:2::/64']));
  });

  it('keeps neighbouring /64s apart', () => {
    expect(addressKey('2001:db8:1:3::a')).toBe('2001:db8:1:3::/64');
    expect(addressKey('2001:db8:1::a')).toBe('2001:db8:1:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8:1:2::a')).not.toBe(addressKey('2001:db8:1:3::a'));
  });

  it('counts a NAT64 address as the IPv4 client it carries', () => {
    expect(addressKey('64:ff9b::192.0.2.33')).toBe('192.0.2.33');
    expect(addressKey('64:ff9b::c000:221')).toBe('192.0.2.33');
  });

  it('is idempotent, and leaves what is not an address alone', () => {
    for (const ip of ['192.0.2.1', '2001:db8:1:2::a', '::1', '64:ff9b::192.0.2.33', 'unknown', 'not:an:address']) {
      expect(addressKey(addressKey(ip))).toBe(addressKey(ip));
    }
    expect(addressKey('not:an:address')).toBe('not:an:address');
  });
});
