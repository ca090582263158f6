// Secrets at rest: AES-256-GCM bound to a context string, and per-app signing keys whose
// private halves never exist outside a sealed envelope.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { decryptSecret, encryptSecret } from '../../src/keys/encryption.ts';
import { generateKey, keyContext } from '../../src/keys/generate-keys.ts';
import { initialKeys, type KeyAlg } from '../../src/keys/key-ring.ts';
import type { StoredKey } from '../../src/storage/ports.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Changes one character of one dot-separated part of a sealed value. */
function tamper(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const value = parts[part]!;
  const first = value[0] === 'A' ? 'B' : 'A';
  parts[part] = first + value.slice(1);
  return parts.join('.');
}

describe('encryptSecret / decryptSecret', () => {
  const kek = randomBytes(32);
  const context = 'postern:client-secret:8a0c6c1e-1f42-4d8e-9a3a-2b7d1c7e9f00';

  it('round-trips text, including empty and non-ASCII text', () => {
    for (const plaintext of ['s3cret', '', 'ünïcödé ✓ 秘密', 'x'.repeat(10_000)]) {
      expect(decryptSecret(kek, encryptSecret(kek, plaintext, context), context)).to.equal(plaintext);
    }
  });

  it('does not contain the plaintext', () => {
    const plaintext = 'a-very-recognisable-secret-value';
    const sealed = encryptSecret(kek, plaintext, context);
    expect(sealed).not.to.include(plaintext);
    expect(sealed).not.to.include(Buffer.from(plaintext).toString('base64url'));
    expect(sealed.startsWith('v1.')).to.equal(true);
  });

  it('produces a different ciphertext for each encryption of the same plaintext', () => {
    const a = encryptSecret(kek, 'same', context);
    const b = encryptSecret(kek, 'same', context);
    expect(a).not.to.equal(b);
    // Different IVs, not just different tags.
    expect(a.split('.')[1]).not.to.equal(b.split('.')[1]);
    expect(decryptSecret(kek, a, context)).to.equal('same');
    expect(decryptSecret(kek, b, context)).to.equal('same');
  });

  it('fails with the wrong key', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    expect(() => decryptSecret(randomBytes(32), sealed, context)).to.throw();
  });

  it('fails with a key that differs in a single bit', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    const other = Buffer.from(kek);
    other[31] = other[31]! ^ 1;
    expect(() => decryptSecret(other, sealed, context)).to.throw();
  });

  it('fails with the wrong context (associated data)', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    expect(() => decryptSecret(kek, sealed, `${context}x`)).to.throw();
    expect(() => decryptSecret(kek, sealed, 'postern:client-secret:00000000-0000-4000-8000-000000000000')).to.throw();
    expect(() => decryptSecret(kek, sealed, '')).to.throw();
  });

  it('fails when the IV, the tag or the ciphertext is tampered with', () => {
    const sealed = encryptSecret(kek, 'a secret long enough to have ciphertext', context);
    for (const part of [1, 2, 3]) {
      const changed = tamper(sealed, part);
      expect(changed).not.to.equal(sealed);
      expect(() => decryptSecret(kek, changed, context), `part ${part}`).to.throw();
    }
  });

  it('fails when the ciphertext is truncated or extended', () => {
    const sealed = encryptSecret(kek, 'a secret long enough to have ciphertext', context);
    expect(() => decryptSecret(kek, sealed.slice(0, -2), context)).to.throw();
    expect(() => decryptSecret(kek, `${sealed}AA`, context)).to.throw();
  });

  it('refuses a sealed value with a part added or missing, or another version', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    const [, iv, tag, ciphertext] = sealed.split('.');
    for (const altered of [`${sealed}.AAAA`, `${sealed}.`, `v1.${iv}.${tag}`, `v1.${iv}..${ciphertext}`, `v1..${tag}.${ciphertext}`, `v2.${iv}.${tag}.${ciphertext}`, `V1.${iv}.${tag}.${ciphertext}`, '', 'v1.']) {
      expect(() => decryptSecret(kek, altered, context), altered).to.throw();
    }
  });

  // IVs come from a pool of CSPRNG bytes, 12 at a time: each must be handed out once,
  // across pool refills too (a pool holds 341 of them).
  it('gives every seal its own 12-byte IV, over several pools of them', () => {
    const ivs = Array.from({ length: 1_500 }, () => Buffer.from(encryptSecret(kek, 'same', context).split('.')[1]!, 'base64url'));
    for (const iv of ivs) expect(iv.length).to.equal(12);
    expect(new Set(ivs.map((iv) => iv.toString('hex'))).size).to.equal(ivs.length);
  });

  // Without a fixed { authTagLength: 16 } Node would accept a tag truncated to 4 bytes,
  // and a forgery would need about 2^32 tries instead of 2^128.
  it('rejects an authentication tag truncated to fewer than 16 bytes', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    const [version, iv, tag, ciphertext] = sealed.split('.');
    for (const bytes of [4, 8, 12, 15]) {
      const short = Buffer.from(tag!, 'base64url').subarray(0, bytes).toString('base64url');
      expect(() => decryptSecret(kek, [version, iv, short, ciphertext].join('.'), context), `${bytes}-byte tag`).to.throw();
    }
  });

  it('rejects values that are not in the sealed format', () => {
    const sealed = encryptSecret(kek, 'secret', context);
    expect(() => decryptSecret(kek, 'plain text', context)).to.throw();
    expect(() => decryptSecret(kek, sealed.replace(/^v1\./, 'v2.'), context)).to.throw();
    expect(() => decryptSecret(kek, sealed.split('.').slice(0, 3).join('.'), context)).to.throw();
  });
});

// Through initialKeys, exactly as a new app that signs with ES512 and RS256 gets its keys
// (src/apps/apps-service.ts).
describe('generateKey, as a new app gets its keys', () => {
  const kek = randomBytes(32);
  const appId = '3f2b8c4e-6a1d-4b7e-9c0f-1e2d3c4b5a69';
  const now = 1_700_000_000_000;
  const make = (alg: KeyAlg) => generateKey(appId, kek, alg, now);
  let keys: StoredKey[];

  before(async () => {
    keys = await initialKeys(make, now, 600, ['ES512', 'RS256']);
  });

  it('generates a current and a next key per algorithm: ES512 on P-521, RS256 on RSA 2048', () => {
    expect(keys.map((k) => `${k.alg} ${k.status}`).sort()).to.deep.equal(['ES512 current', 'ES512 next', 'RS256 current', 'RS256 next']);
    for (const key of keys) {
      // Exactly the JWK members of the key type: no WebCrypto leftovers (ext, key_ops).
      if (key.alg === 'ES512') {
        expect(Object.keys(key.publicJwk).sort()).to.deep.equal(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        expect(key.publicJwk).to.include({ kty: 'EC', crv: 'P-521', alg: 'ES512', use: 'sig' });
      } else {
        expect(Object.keys(key.publicJwk).sort()).to.deep.equal(['alg', 'e', 'kid', 'kty', 'n', 'use']);
        expect(key.publicJwk).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
        expect(Buffer.from(String(key.publicJwk.n), 'base64url').length * 8, 'modulus bits').to.equal(2048);
      }
    }
  });

  it('gives each key a distinct UUID v4 kid, the same in the stored record and the JWK', async () => {
    for (const key of keys) {
      expect(key.kid).to.match(UUID_V4);
      expect(key.publicJwk.kid).to.equal(key.kid);
      expect(key.createdAt).to.equal(now);
    }
    expect(new Set(keys.map((k) => k.kid)).size).to.equal(keys.length);
    const again = await Promise.all(keys.map((k) => make(k.alg)));
    for (const key of again) expect(keys.map((k) => k.kid)).not.to.include(key.kid);
  });

  it('keeps private members out of the public JWKs', () => {
    for (const key of keys) {
      for (const member of PRIVATE_MEMBERS) expect(key.publicJwk, `${key.alg} ${member}`).not.to.have.property(member);
    }
  });

  it('stores the private JWK only sealed, and it decrypts (with the app and kid context) to a JWK with d', () => {
    for (const key of keys) {
      expect(key).not.to.have.property('privateJwk');
      expect(key.encryptedPrivateJwk.startsWith('v1.')).to.equal(true);
      expect(key.encryptedPrivateJwk).not.to.include('"d"');
      const jwk = JSON.parse(decryptSecret(kek, key.encryptedPrivateJwk, keyContext(appId, key.kid))) as Record<string, unknown>;
      expect(jwk.d).to.be.a('string').with.length.above(20);
      expect(jwk).to.include({ kid: key.kid, alg: key.alg, use: 'sig', kty: key.publicJwk.kty });
      // Same key pair: every public member matches.
      for (const [member, value] of Object.entries(key.publicJwk)) expect(jwk[member], member).to.equal(value);
    }
  });

  it('binds each sealed private key to its app and kid', () => {
    const [first, second] = keys;
    expect(() => decryptSecret(kek, first!.encryptedPrivateJwk, keyContext('00000000-0000-4000-8000-000000000000', first!.kid))).to.throw();
    expect(() => decryptSecret(kek, first!.encryptedPrivateJwk, keyContext(appId, second!.kid))).to.throw();
    expect(() => decryptSecret(randomBytes(32), first!.encryptedPrivateJwk, keyContext(appId, first!.kid))).to.throw();
  });

  it('produces working key pairs: the private key signs, the public key verifies', async () => {
    for (const key of keys) {
      const privateJwk = JSON.parse(decryptSecret(kek, key.encryptedPrivateJwk, keyContext(appId, key.kid))) as JWK;
      const jwt = await new SignJWT({ hello: 'world' }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(await importJWK(privateJwk, key.alg));
      const { payload } = await jwtVerify(jwt, await importJWK(key.publicJwk as JWK, key.alg));
      expect(payload.hello).to.equal('world');
    }
  });
});
