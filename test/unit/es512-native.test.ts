// The native ES512 signer on its own: its signatures are byte-for-byte JOSE ES512 (jose
// and the system's openssl CLI verify them, over every message length that matters), key
// import keeps leading zeros and refuses keys whose halves do not belong together, hostile
// calls into the addon throw instead of crashing, signing leaves the event loop free, the
// addon binds no OpenSSL symbol of Node's, and the choice between it and the fallback is
// logged once. Skipped, saying so, only when `npm run build:native` could not build it.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';
import { DEFAULT_ADDON_PATH, loadEs512Signer, NativeEs512, SignerUnavailableError, type NativeEs512Key } from '../../src/keys/native-signer.ts';
import { createLogger } from '../../src/log.ts';

const BUILT = existsSync(DEFAULT_ADDON_PATH);

/** A private P-521 JWK for the scalar `d` (66 bytes), its public half computed by Node. */
function jwkForScalar(d: Buffer, kid = 'k'): JWK {
  const ecdh = createECDH('secp521r1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  return { kty: 'EC', crv: 'P-521', kid, d: d.toString('base64url'), x: point.subarray(1, 67).toString('base64url'), y: point.subarray(67).toString('base64url') };
}

async function freshJwk(kid = 'k'): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES512', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES512' };
}

const publicOf = ({ d: _d, ...pub }: JWK) => pub;

/** A compact JWS over `payload` signed by the native key, as the engine builds it (A37). */
async function jws(key: NativeEs512Key, payload: Buffer): Promise<string> {
  const input = `${Buffer.from(JSON.stringify({ alg: 'ES512', kid: key.kid })).toString('base64url')}.${payload.toString('base64url')}`;
  return `${input}.${(await key.sign(Buffer.from(input))).toString('base64url')}`;
}

/** JOSE r||s as the DER ECDSA-Sig-Value openssl reads (RFC 3279 §2.2.3). */
function derOf(raw: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let v = bytes.subarray(bytes.findIndex((b) => b !== 0));
    if (v.length === 0) v = Buffer.from([0]);
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 66)), integer(raw.subarray(66))]);
  return Buffer.concat([Buffer.from(body.length < 128 ? [0x30, body.length] : [0x30, 0x81, body.length]), body]);
}

// Around SHA-512's 128-byte block and its 17 bytes of padding, the JWS sizes of real
// tokens, and large inputs.
const EDGE_LENGTHS = [0, 1, 2, 55, 56, 63, 64, 65, 110, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 1023, 1024, 4096, 65_535, 65_536, 1 << 20];

describe('native ES512 signer', function () {
  this.timeout(60_000);
  let signer: NativeEs512;

  before(async function () {
    if (!BUILT) {
      console.log(`      (skipped: the native ES512 signer is not built at ${DEFAULT_ADDON_PATH}; run npm run build:native)`);
      this.skip();
    }
    signer = await NativeEs512.load();
  });

  describe('signatures', () => {
    it('reports the system OpenSSL 3 it signs with', () => {
      expect(signer.version).to.match(/^OpenSSL 3\.\d+\.\d+/);
    });

    it('verify with jose (compactVerify and jwtVerify) for every edge length and random messages', async () => {
      const jwk = await freshJwk('edge');
      const key = signer.importKey(jwk);
      const pub = await importJWK(publicOf(jwk), 'ES512');
      const lengths = [...EDGE_LENGTHS, ...Array.from({ length: 200 }, () => Math.floor(Math.random() * 2000))];
      for (const length of lengths) {
        const token = await jws(key, randomBytes(length));
        const { protectedHeader } = await compactVerify(token, pub, { algorithms: ['ES512'] });
        expect(protectedHeader.kid).to.equal('edge');
        expect(Buffer.from(token.split('.')[2]!, 'base64url')).to.have.length(132);
      }
      const claims = Buffer.from(JSON.stringify({ sub: 'a', iss: 'https://i', aud: 'c', exp: Math.floor(Date.now() / 1000) + 60 }));
      expect((await jwtVerify(await jws(key, claims), pub, { issuer: 'https://i', audience: 'c' })).payload.sub).to.equal('a');
    });

    it('verify with the system openssl CLI over their DER form', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
      const key = signer.importKey({ ...privateKey.export({ format: 'jwk' }), kid: 'cli' });
      const dir = mkdtempSync(join(tmpdir(), 'es512-'));
      try {
        writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
        for (const length of [0, 1, 111, 112, 128, 129, 1000, 65_536]) {
          const message = randomBytes(length);
          writeFileSync(join(dir, 'msg'), message);
          writeFileSync(join(dir, 'sig'), derOf(await key.sign(message)));
          const out = execFileSync('openssl', ['dgst', '-sha512', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'msg')]).toString();
          expect(out.trim(), `length ${length}`).to.equal('Verified OK');
          // And a signature over other bytes does not.
          writeFileSync(join(dir, 'msg'), Buffer.concat([message, Buffer.from([0])]));
          expect(() => execFileSync('openssl', ['dgst', '-sha512', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'msg')], { stdio: 'pipe' })).to.throw();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('pads r and s to 66 bytes each (short r and s verify)', async () => {
      // r or s below 2^520 (about half of all signatures) has a leading zero byte the raw form keeps.
      const jwk = await freshJwk();
      const key = signer.importKey(jwk);
      const pub = await importJWK(publicOf(jwk), 'ES512');
      let short = 0;
      for (let i = 0; i < 64; i++) {
        const token = await jws(key, Buffer.from(`message ${i}`));
        const raw = Buffer.from(token.split('.')[2]!, 'base64url');
        if (raw[0] === 0 || raw[66] === 0) short++;
        await compactVerify(token, pub);
      }
      expect(short).to.be.greaterThan(0);
    });

    it('a burst of parallel signatures, several keys at once, all verify', async () => {
      const jwks = await Promise.all([freshJwk('a'), freshJwk('b'), freshJwk('c')]);
      const keys = jwks.map((jwk) => signer.importKey(jwk));
      const pubs = await Promise.all(jwks.map((jwk) => importJWK(publicOf(jwk), 'ES512')));
      const before = signer.signatures();
      const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => jws(keys[i % 3]!, Buffer.from(`burst ${i}`))));
      await Promise.all(tokens.map((token, i) => compactVerify(token, pubs[i % 3]!)));
      expect(signer.signatures() - before).to.be.at.least(300);
      // A signature verifies under its own key only.
      await compactVerify(tokens[0]!, pubs[1]!).then(
        () => expect.fail('verified under another key'),
        (err: Error) => expect(err.name).to.equal('JWSSignatureVerificationFailed'),
      );
    });

    it('signs off the event loop: the loop turns while a long signature is being made', async () => {
      const key = signer.importKey(await freshJwk());
      let signed = false;
      const signing = key.sign(randomBytes(64 << 20)).then(() => (signed = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(signed, 'the signature was made on the event loop').to.equal(false);
      await signing;
      expect(signed).to.equal(true);
    });
  });

  describe('key import', () => {
    it('keeps leading zero bytes of d (and d = 1, d = n - 1)', async () => {
      // The order of P-521 (SEC 2 §2.6.1).
      const n = Buffer.from(`01ff${'ffffffff'.repeat(7)}fffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409`, 'hex');
      expect(n).to.have.length(66);
      const nMinus1 = Buffer.from(n);
      nMinus1[65]! -= 1;
      const one = Buffer.alloc(66);
      one[65] = 1;
      const scalars = [Buffer.concat([Buffer.alloc(2), randomBytes(64)]), Buffer.concat([Buffer.alloc(9), randomBytes(57)]), one, nMinus1];
      for (const d of scalars) {
        const jwk = jwkForScalar(d);
        expect(Buffer.from(jwk.d!, 'base64url')).to.have.length(66);
        const token = await jws(signer.importKey(jwk), Buffer.from('leading zeros'));
        await compactVerify(token, await importJWK(publicOf(jwk), 'ES512'));
      }
    });

    it('refuses keys that are not P-521, have the wrong length, or whose x and y are not the public half of d', async () => {
      const jwk = await freshJwk();
      const other = await freshJwk();
      const p256 = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'p256' };
      const stripped = Buffer.from(jwk.d!, 'base64url');
      for (const bad of [
        p256,
        { ...p256, crv: 'P-521' },
        { ...jwk, d: stripped.subarray(1).toString('base64url') },
        { ...jwk, d: Buffer.concat([Buffer.alloc(1), stripped]).toString('base64url') },
        { ...jwk, x: other.x },
        { ...jwk, d: other.d },
        { ...jwk, d: Buffer.alloc(66).toString('base64url') },
        { ...jwk, d: undefined },
        { ...jwk, kty: 'OKP' },
      ]) {
        expect(() => signer.importKey(bad as JWK), JSON.stringify({ ...bad, d: bad.d?.slice(0, 4) })).to.throw();
      }
    });
  });

  describe('the addon, called with hostile arguments', () => {
    const addon = () => createRequire(import.meta.url)(DEFAULT_ADDON_PATH) as Record<string, (...args: unknown[]) => unknown>;

    it('throws instead of crashing', async () => {
      const a = addon();
      const der = Buffer.from('3060020100301006072a8648ce3d020106052b810400230449304702010104420000', 'hex');
      for (const input of [Buffer.alloc(0), Buffer.from('garbage'), der, randomBytes(98), new Uint8Array(98)]) expect(() => a.importKey!(input)).to.throw(Error);
      for (const input of [undefined, 'text', {}, 98]) expect(() => a.importKey!(input)).to.throw(TypeError);
      const handle = a.importKey!(generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({ type: 'pkcs8', format: 'der' }));
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' });
      expect(() => a.importKey!(p256)).to.throw(/P-521/);
      for (const notAHandle of [undefined, {}, Buffer.alloc(8), 'handle']) {
        expect(() => a.sign!(notAHandle, Buffer.from('x'))).to.throw(TypeError);
        expect(() => a.publicKey!(notAHandle)).to.throw(TypeError);
      }
      expect(() => a.sign!(handle, 'not a buffer')).to.throw(TypeError);
      expect(() => a.sign!(handle)).to.throw(TypeError);
      expect(a.verify!(handle, Buffer.from('x'), Buffer.alloc(131))).to.equal(false);
      expect(a.verify!(handle, Buffer.from('x'), Buffer.alloc(132))).to.equal(false);
    });

    it('binds no OpenSSL symbol of Node\'s: it links no libcrypto and imports none of its functions', () => {
      const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', DEFAULT_ADDON_PATH]).toString();
      const openssl = undefinedSymbols.split('\n').filter((line) => /\b(EVP_|BN_|ECDSA_|EC_|ERR_|OPENSSL|OpenSSL|CRYPTO_|d2i_|i2d_)/.test(line));
      expect(openssl).to.deep.equal([]);
      expect(undefinedSymbols).to.include('dlopen');
      expect(execFileSync('readelf', ['-d', DEFAULT_ADDON_PATH]).toString()).not.to.match(/NEEDED.*libcrypto/);
    });
  });
});

describe('choosing the ES512 signer', () => {
  const logged = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger('debug', (line) => void lines.push(line)) };
  };
  const signerLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, string>).filter((l) => String(l.msg).startsWith('ES512 signer'));

  const dir = mkdtempSync(join(tmpdir(), 'es512-choice-'));
  const missing = join(dir, 'missing.node');
  const broken = join(dir, 'broken.node');
  writeFileSync(broken, 'not a shared object');
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [what, path] of [
    ['missing', missing],
    ['broken', broken],
  ] as const) {
    it(`auto with a ${what} addon falls back to Node's crypto, warning once with the reason`, async () => {
      const { lines, logger } = logged();
      const signer = await loadEs512Signer('auto', logger, path);
      expect(signer.kind).to.equal('node');
      const [line, ...more] = signerLines(lines);
      expect(more).to.deep.equal([]);
      expect(line).to.include({ level: 'warn', signer: 'node' });
      expect(line!.reason).to.include(path);
    });

    it(`native with a ${what} addon refuses, naming the reason`, async () => {
      const { logger } = logged();
      const err = await loadEs512Signer('native', logger, path).then(
        () => expect.fail('started without the native signer'),
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SignerUnavailableError);
      expect((err as Error).message).to.include('ES512_SIGNER=native').and.to.include(path);
    });
  }

  it('node is the fallback whatever is built, with the setting as the reason', async () => {
    const { lines, logger } = logged();
    const signer = await loadEs512Signer('node', logger);
    expect(signer).to.deep.equal({ kind: 'node', reason: 'ES512_SIGNER=node' });
    expect(signerLines(lines)).to.have.length(1);
  });

  it('auto and native use the built addon, logging the library it signs with', async function () {
    if (!BUILT) this.skip();
    for (const setting of ['auto', 'native'] as const) {
      const { lines, logger } = logged();
      const signer = await loadEs512Signer(setting, logger);
      expect(signer.kind).to.equal('native');
      const [line, ...more] = signerLines(lines);
      expect(more).to.deep.equal([]);
      expect(line).to.include({ level: 'info', signer: 'native' });
      expect(line!.library).to.match(/^OpenSSL 3\./);
    }
  });
});
