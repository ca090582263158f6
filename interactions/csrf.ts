// CSRF protection for the hosted forms: a random per-browser secret in an HttpOnly,
// SameSite cookie, and in each form an HMAC of that secret and the login attempt. A forged
// cross-site POST has neither; a token from another attempt or browser does not verify.
// The cookie is scoped to the attempt's pages: two attempts whose first pages load at the
// same moment in a fresh browser (two tabs, an app starting two sign-ins) each keep their
// own secret, where one shared cookie would keep only the last, failing the other's forms.
import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Context } from 'koa';
import { secretKeysOf } from '../src/keys/cookie-keys.ts';

const COOKIE = 'postern_csrf';

export class Csrf {
  /** COOKIE_SECRETS as keys, imported once (not on every HMAC). */
  readonly #secrets: readonly KeyObject[];
  readonly #secure: boolean;
  constructor(secrets: readonly string[], secure: boolean) {
    this.#secrets = secretKeysOf(secrets);
    this.#secure = secure;
  }

  #mac(secret: KeyObject, browser: string, purpose: string): Buffer {
    return createHmac('sha256', secret).update(`${browser}|${purpose}`).digest();
  }

  /** Returns a token for a form; sets the browser cookie, under `cookiePath` (the attempt's pages), the first time. */
  issue(ctx: Context, cookiePath: string, purpose: string): string {
    let browser = ctx.cookies.get(COOKIE, { signed: true });
    if (!browser || !/^[A-Za-z0-9_-]{43}$/.test(browser)) {
      browser = randomBytes(32).toString('base64url');
      ctx.cookies.set(COOKIE, browser, { path: cookiePath, httpOnly: true, sameSite: 'lax', secure: this.#secure, signed: true });
    }
    return this.#mac(this.#secrets[0]!, browser, purpose).toString('base64url');
  }

  verify(ctx: Context, purpose: string, token: unknown): boolean {
    const browser = ctx.cookies.get(COOKIE, { signed: true });
    if (!browser || typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
    const given = Buffer.from(token, 'base64url');
    // Every configured secret verifies, so rotating COOKIE_SECRETS does not break open forms.
    return this.#secrets.some((secret) => timingSafeEqual(this.#mac(secret, browser, purpose), given));
  }
}
