import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { HttpError } from '../http/http-error.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Bearer-token check in constant time (both sides hashed to equal length first). */
export function requireAdminToken(token: string): Middleware {
  const expected = digest(token);
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header); // auth schemes are case-insensitive
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      throw new HttpError(401, 'invalid_token', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".', {
        'WWW-Authenticate': 'Bearer realm="postern-admin"',
      });
    }
    await next();
  };
}
