// ES512 signatures from the native signer (native/es512/, built by `npm run build:native`)
// against the system's libcrypto, whose optimised P-521 code signs several times faster
// than the OpenSSL bundled with Node. Chosen once per process by ES512_SIGNER: `auto`
// uses it when it loads and passes its known-answer check, and otherwise falls back, with
// one warning naming why, to Node's crypto (the engine signs with jose over WebCrypto, as
// it does for every other algorithm); `node` always falls back; `native` refuses to start
// without it. docs/es512-signer.md is the operator's side.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { P521_BYTES, p521Pkcs8 } from './p521-private-key.ts';

/** ES512_SIGNER (config/settings.ts). */
export type Es512SignerSetting = 'auto' | 'native' | 'node';

/** Where `npm run build:native` puts the addon. */
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../../native/es512/build/es512.node', import.meta.url));

/** The addon's functions (native/es512/es512.c); a handle owns one EVP_PKEY. */
interface Addon {
  version(): string;
  signatures(): number;
  importKey(pkcs8Der: Buffer): object;
  publicKey(handle: object): Buffer;
  sign(handle: object, data: Buffer): Promise<Buffer>;
  verify(handle: object, data: Buffer, signature: Buffer): boolean;
}

/** One ES512 key held by the native signer: its private half never leaves the addon. */
export interface NativeEs512Key {
  readonly kid: string;
  /** The public half, for the JWKS and for verifying. */
  readonly publicKey: KeyObject;
  /** JOSE ES512 signature (r||s, 132 bytes) of `data`, made on the libuv thread pool. */
  sign(data: Uint8Array): Promise<Buffer>;
}

/** Node's crypto signs: the engine's own jose/WebCrypto path. */
export interface NodeEs512 {
  readonly kind: 'node';
  /** Why the native signer is not used, as logged at start. */
  readonly reason: string;
}

export type Es512Signer = NativeEs512 | NodeEs512;

/** ES512_SIGNER=native, and the native signer is not available: the process must not start. */
export class SignerUnavailableError extends Error {
  override readonly name = 'SignerUnavailableError';
}

// The known answer: a key made for this check only (it signs nothing else), a message and
// a signature Node's crypto made with it. The signer must verify that signature, refuse it
// altered, and make one of its own that Node verifies.
const KNOWN = {
  jwk: {
    kty: 'EC',
    crv: 'P-521',
    kid: 'postern-known-answer',
    d: 'Aa9ea1verIwMxMOBCxx7hIelOrwyidRWgjKfr3a2lBJWdnXHgAagcAdzM9OBZOR_2P8ib-5WI1IS8xWOVZZvTaz0',
    x: 'Ab0ckAXSSrXldQEmqOlKxUUoc37C-gUF5sLkNlSOkHqjPUyly-eF9n4oXi_RVXl1iYtE4GBI3edVja3a6VoLo5k_',
    y: 'AHy_R_A0Fir-fvikZd05UbWwo9Nr1yBGVB-kDh7qkN8YZn9QhLYaBpn-_Hxsu2ys_29le-CjLTBAag5W6D__mQAR',
  },
  message: Buffer.from('postern es512 known answer'),
  signature: Buffer.from(
    'AckQRG7PK46rV73gKgai0xTcXKFJq1yEsEd1_RWqUqiWB5tvssYfvhCRwiSlzXTFV5YWUcbqnYGky6EguFksQpIqAPW5Tue9_7h9k2klKoAb6KQW8Vb1T4xVQUuBPTJW_blq2nDKAUNKf2v5e2AXZ6rkhcLslEueE8Zhag-Q-nckxiTZ',
    'base64url',
  ),
};

function coordinate(jwk: Readonly<Record<string, unknown>>, name: 'd' | 'x' | 'y'): Buffer {
  const value = jwk[name];
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== P521_BYTES) throw new TypeError(`the ES512 key's "${name}" is not ${P521_BYTES} bytes of base64url`);
  return bytes;
}

const asBuffer = (data: Uint8Array) => (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));

export class NativeEs512 {
  readonly kind = 'native';
  /** The system library's own version text (e.g. "OpenSSL 3.0.19 27 Jan 2026"). */
  readonly version: string;
  /** The file it was loaded from. */
  readonly path: string;
  readonly #addon: Addon;

  private constructor(addon: Addon, path: string) {
    this.#addon = addon;
    this.path = path;
    this.version = addon.version();
  }

  /** Loads the addon and checks it; rejects with what is wrong. */
  static async load(path: string = DEFAULT_ADDON_PATH): Promise<NativeEs512> {
    let addon: Addon;
    try {
      addon = createRequire(import.meta.url)(path) as Addon;
    } catch (err) {
      throw new Error(`the native signer did not load from ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    const signer = new NativeEs512(addon, path);
    if (!/^OpenSSL 3\./.test(signer.version)) throw new Error(`the system libcrypto reports "${signer.version}", not OpenSSL 3`);
    await signer.#knownAnswer();
    return signer;
  }

  /** Signatures the native signer made in this process (all keys, all servers). */
  signatures(): number {
    return this.#addon.signatures();
  }

  /**
   * Gives the private key of an ES512 JWK to the addon (as PKCS#8 DER in a buffer zeroed
   * right after) and checks that the point OpenSSL derives from `d` is the JWK's x and y.
   */
  importKey(jwk: Readonly<Record<string, unknown>>): NativeEs512Key {
    const { handle, publicKey } = this.#open(jwk);
    const addon = this.#addon;
    return { kid: String(jwk.kid), publicKey, sign: (data) => addon.sign(handle, asBuffer(data)) };
  }

  #open(jwk: Readonly<Record<string, unknown>>): { handle: object; publicKey: KeyObject } {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-521') throw new TypeError('not an ES512 (EC P-521) key');
    const point = Buffer.concat([Buffer.from([4]), coordinate(jwk, 'x'), coordinate(jwk, 'y')]);
    const d = coordinate(jwk, 'd');
    const der = p521Pkcs8(d);
    let handle: object;
    try {
      handle = this.#addon.importKey(der);
    } finally {
      der.fill(0);
      d.fill(0);
    }
    if (!this.#addon.publicKey(handle).equals(point)) throw new TypeError(`the ES512 key ${String(jwk.kid)}: x and y are not the public half of d`);
    return { handle, publicKey: createPublicKey({ key: { kty: 'EC', crv: 'P-521', x: jwk.x as string, y: jwk.y as string }, format: 'jwk' }) };
  }

  async #knownAnswer(): Promise<void> {
    const { handle, publicKey } = this.#open(KNOWN.jwk);
    if (!this.#addon.verify(handle, KNOWN.message, KNOWN.signature)) throw new Error('the native signer does not verify a signature made by Node');
    const altered = Buffer.from(KNOWN.signature);
    altered[70]! ^= 1;
    if (this.#addon.verify(handle, KNOWN.message, altered)) throw new Error('the native signer accepts an altered signature');
    const made = await this.#addon.sign(handle, KNOWN.message);
    if (!verify('sha512', KNOWN.message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, made)) {
      throw new Error('a signature of the native signer does not verify with Node');
    }
  }
}

/**
 * The ES512 signer of this process, as ES512_SIGNER asks, logged once: an info line for
 * the native signer, a warning naming why for the fallback. Rejects with
 * SignerUnavailableError for `native` when it cannot be used.
 */
export async function loadEs512Signer(setting: Es512SignerSetting, logger: Logger, path: string = DEFAULT_ADDON_PATH): Promise<Es512Signer> {
  if (setting === 'node') {
    const reason = 'ES512_SIGNER=node';
    logger.warn('ES512 signer: Node crypto (fallback)', { signer: 'node', reason });
    return { kind: 'node', reason };
  }
  try {
    const native = await NativeEs512.load(path);
    logger.info('ES512 signer: native (system libcrypto)', { signer: 'native', library: native.version, addon: native.path });
    return native;
  } catch (err) {
    const reason = (err as Error).message;
    if (setting === 'native') throw new SignerUnavailableError(`ES512_SIGNER=native, but ${reason}`);
    logger.warn('ES512 signer: Node crypto (fallback)', { signer: 'node', reason });
    return { kind: 'node', reason };
  }
}
