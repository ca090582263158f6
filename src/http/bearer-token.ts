// The one way Postern checks a bearer token an operator configured (the admin API, the
// metrics): in constant time, both sides hashed to equal length first, so neither the
// token's length nor its first differing character shows in the response time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when the request's `Authorization: Bearer` header holds `token`; the scheme in any case, nowhere else (no query, no cookie). */
export function bearerTokenCheck(token: string): (ctx: Context) => boolean {
  const expected = digest(token);
  return (ctx) => {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(ctx.get('authorization')); // auth schemes are case-insensitive
    return Boolean(match?.[1]) && timingSafeEqual(digest(match![1]!), expected);
  };
}
