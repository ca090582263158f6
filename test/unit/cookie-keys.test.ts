// Cookie signatures under keys imported once (src/keys/cookie-keys.ts): byte for byte
// Keygrip's, so cookies signed before an upgrade (or by another instance) stay valid, and
// only a signature of the same data under one of the configured secrets verifies.
import { expect } from 'chai';
import Keygrip from 'keygrip';
import { CookieKeys, cookieKeysFor } from '../../src/keys/cookie-keys.ts';

const CURRENT = 'current-cookie-secret-0123456789abcdef';
const OLDER = 'older-cookie-secret-0123456789abcdef';

describe('cookie keys', () => {
  const keys = new CookieKeys([CURRENT, OLDER]);

  it("signs as Keygrip does with the first secret, for any data (unicode, empty, '=' and ';')", () => {
    for (const data of ['_session=abc', '', 'postern_csrf=x=y;z', 'naïve=✓ 🍪', 'a'.repeat(5000)]) {
      expect(keys.sign(data), data).to.equal(new Keygrip([CURRENT, OLDER]).sign(data));
    }
  });

  it('accepts a signature under any of the secrets as it is (0: never re-signed at Path=/), and refuses one under none (-1)', () => {
    const data = '_interaction=uid-1';
    expect(keys.index(data, new Keygrip([CURRENT]).sign(data))).to.equal(0);
    expect(keys.index(data, new Keygrip([OLDER]).sign(data))).to.equal(0);
    expect(keys.verify(data, new Keygrip([OLDER]).sign(data))).to.equal(true);
    expect(keys.index(data, new Keygrip(['someone-elses-secret-0123456789abcdef']).sign(data))).to.equal(-1);
  });

  it('refuses a signature of other data, altered, re-encoded, truncated, padded or not a string', () => {
    const data = '_session=abc';
    const good = keys.sign(data);
    const hostile: unknown[] = [
      keys.sign('_session=abd'),
      good.toUpperCase(),
      good.toLowerCase(),
      `${good}=`,
      good.slice(0, -1),
      Buffer.from(good, 'base64url').toString('base64'),
      encodeURIComponent(good).replace(/-/g, '%2D'),
      '',
      undefined,
      ['x'],
    ];
    for (const digest of hostile.filter((d) => d !== good)) expect(keys.index(data, digest), String(digest)).to.equal(-1);
  });

  it('one instance per configured list, shared by the Koa app and every engine', () => {
    const secrets = [CURRENT];
    expect(cookieKeysFor(secrets)).to.equal(cookieKeysFor(secrets));
    expect(cookieKeysFor([CURRENT])).not.to.equal(cookieKeysFor(secrets));
  });

  it('refuses to exist without a secret', () => {
    expect(() => new CookieKeys([])).to.throw(/at least one secret/);
  });
});
