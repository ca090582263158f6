import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { HttpError } from '../http/http-error.ts';
import type { RateLimiter } from '../storage/ports.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

const tooMany = () =>
  new HttpError(429, 'too_many_requests', 'Too many failed admin authentications from this address; try again later.', {
    'Retry-After': '900',
  });

/**
 * Bearer-token check in constant time (both sides hashed to equal length first). Failed
 * attempts are counted per client IP; an IP that used up its allowance is refused before
 * the token is even looked at, so guessing cannot go on at full speed.
 */
export function requireAdminToken(token: string, failures: RateLimiter): Middleware {
  const expected = digest(token);
  return async (ctx, next) => {
    if (await failures.exhausted(ctx.ip)) throw tooMany();
    const header = ctx.get('authorization');
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header); // auth schemes are case-insensitive
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      if (!(await failures.hit(ctx.ip))) throw tooMany();
      throw new HttpError(401, 'invalid_token', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".', {
        'WWW-Authenticate': 'Bearer realm="postern-admin"',
      });
    }
    await next();
  };
}
