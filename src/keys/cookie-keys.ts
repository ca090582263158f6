// The keys of COOKIE_SECRETS as KeyObjects, made once per process. Cookie signatures are
// Keygrip's (HMAC-SHA1, base64url, the first secret signs, every secret verifies), so a
// cookie signed before stays valid; but Keygrip hands each HMAC its secret as a string,
// which Node turns into a key again on every call, and compares through two more HMACs
// under a fresh random key (tsscmp). A sign-in checks and signs a dozen cookies: here each
// signature is one HMAC under a key imported once, compared in constant time (equal-text.ts).
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { equalText } from './equal-text.ts';

/** COOKIE_SECRETS, each made a key once: the HMACs of the hosted forms (CSRF) use them too. */
export function secretKeysOf(secrets: readonly string[]): readonly KeyObject[] {
  return secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
}

/**
 * Signs and verifies cookies as Keygrip does, through the interface the `cookies` module
 * calls (Koa's `app.keys`, the engine's `cookies.keys`, engine.ts A50).
 */
export class CookieKeys {
  readonly #keys: readonly KeyObject[];

  constructor(secrets: readonly string[]) {
    if (!secrets.length) throw new Error('CookieKeys: at least one secret is needed');
    this.#keys = secretKeysOf(secrets);
  }

  #sign(data: string, key: KeyObject): string {
    return createHmac('sha1', key).update(data).digest('base64url');
  }

  /** The signature of `data` under the first (current) secret. */
  sign(data: string): string {
    return this.#sign(data, this.#keys[0]!);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /**
   * 0 when any secret signed `data` as `digest`, -1 for none. Keygrip answers which secret
   * (1 or more for an older one), and the `cookies` module then re-signs: it sets a second
   * `.sig` cookie at Path=/ without SameSite beside the one at the cookie's own path, which
   * the browser sends first, so it re-signed on every request. An older secret's signature
   * is accepted as it is instead; the engine re-signs its cookies whenever it sets them.
   */
  index(data: string, digest: unknown): number {
    if (typeof digest !== 'string') return -1;
    return this.#keys.some((key) => equalText(digest, this.#sign(data, key))) ? 0 : -1;
  }
}

const shared = new WeakMap<readonly string[], CookieKeys>();

/** One CookieKeys per configured list: the Koa app and every app's engine share it. */
export function cookieKeysFor(secrets: readonly string[]): CookieKeys {
  let keys = shared.get(secrets);
  if (!keys) shared.set(secrets, (keys = new CookieKeys(secrets)));
  return keys;
}
