// The keys rate limits count a client IP under: one per IPv4 address or IPv6 /64, one per
// IPv4 /24 or IPv6 /48 network, the same for every spelling of an address, and one shared
// key for anything that is not an address.
import { expect } from 'chai';
import fc from 'fast-check';
import { ipLimitKey, networkLimitKey } from '../../src/ip-network.ts';

/** Every input must give the same key as the first. */
function sameKey(key: (ip: string) => string, spellings: string[]): string {
  const keys = spellings.map(key);
  for (const [i, k] of keys.entries()) expect(k, spellings[i]).to.equal(keys[0]);
  return keys[0]!;
}

describe('ip-network', () => {
  describe('ipLimitKey', () => {
    it('keeps an IPv4 address as it is', () => {
      expect(ipLimitKey('192.0.2.7')).to.equal('192.0.2.7');
      expect(ipLimitKey('192.0.2.8')).to.not.equal(ipLimitKey('192.0.2.7'));
    });

    it('counts a whole IPv6 /64 as one client', () => {
      const key = sameKey(ipLimitKey, ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2:a:b:c:d']);
      expect(key).to.equal('2001:db8:1:2::/64');
      expect(ipLimitKey('2001:db8:1:3::1')).to.not.equal(key);
    });

    it('reads every spelling of one IPv6 address alike: compressed, expanded, any case, zone id, port', () => {
      sameKey(ipLimitKey, [
        '2001:db8:0:0::1',
        '2001:0db8:0000:0000:0000:0000:0000:0001',
        '2001:DB8::1',
        '2001:Db8:0::0:1',
        '2001:db8::1%eth0',
        '2001:db8::1%25',
        '[2001:db8::1]',
        '[2001:db8::1]:443',
        ' 2001:db8::1 ',
      ]);
      sameKey(ipLimitKey, ['fe80::1', 'fe80::1%eth0', 'FE80::1%1', 'fe80:0:0:0:0:0:0:1']);
    });

    it('gives any IPv6 address one key in its expanded, compressed and upper-case spellings', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
          const expanded = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
          const compressed = new URL(`http://[${expanded}]`).hostname.slice(1, -1); // the WHATWG form: shortest
          sameKey(ipLimitKey, [expanded, compressed, expanded.toUpperCase(), `${compressed}%eth0`, `[${compressed}]:1`]);
          sameKey(networkLimitKey, [expanded, compressed, expanded.toUpperCase()]);
        }),
      );
    });

    it('counts IPv4 behind IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo forms as that IPv4 address', () => {
      expect(
        sameKey(ipLimitKey, [
          '192.0.2.33',
          '192.0.2.33:8080',
          '::ffff:192.0.2.33',
          '::FFFF:c000:221',
          '0:0:0:0:0:ffff:192.0.2.33',
          '::192.0.2.33',
          '64:ff9b::192.0.2.33',
          '2002:c000:221::1',
          '2002:c000:221:ffff::2',
          // Teredo: the client's IPv4 address, every bit inverted, in the last 32 bits.
          '2001:0:4136:e378:8000:63bf:3fff:fdde',
        ]),
      ).to.equal('192.0.2.33');
      // Loopback and the unspecified address stay IPv6.
      expect(ipLimitKey('::1')).to.equal('0:0:0:0::/64');
      expect(ipLimitKey('::')).to.equal('0:0:0:0::/64');
    });

    it('gives one shared key to anything that is not an address, so junk opens no fresh budget', () => {
      const junk = ['', 'unknown', 'garbage', '1.2.3', '256.1.1.1', '01.2.3.4', '1.2.3.4.5', '2001:db8::1::2', 'a'.repeat(10_000), '1.2.3.4, 5.6.7.8', '[::1', 'localhost'];
      sameKey(ipLimitKey, junk);
      sameKey(networkLimitKey, junk);
      expect(ipLimitKey('garbage')).to.not.equal(ipLimitKey('192.0.2.1'));
    });

    it('never throws and always answers a short key, whatever the text', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (text) => {
          for (const key of [ipLimitKey(text), networkLimitKey(text)]) expect(key.length).to.be.within(1, 60);
        }),
      );
    });
  });

  describe('networkLimitKey', () => {
    it('counts an IPv4 /24 as one network', () => {
      const key = sameKey(networkLimitKey, ['198.51.100.1', '198.51.100.254', '::ffff:198.51.100.9']);
      expect(key).to.equal('198.51.100.0/24');
      expect(networkLimitKey('198.51.101.1')).to.not.equal(key);
    });

    it('counts an IPv6 /48 as one network', () => {
      const key = sameKey(networkLimitKey, ['2001:db8:aaaa::1', '2001:db8:aaaa:1::1', '2001:DB8:AAAA:FFFF:1:2:3:4']);
      expect(key).to.equal('2001:db8:aaaa::/48');
      expect(networkLimitKey('2001:db8:aaab::1')).to.not.equal(key);
    });
  });
});
