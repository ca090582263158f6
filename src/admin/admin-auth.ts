// Admin authentication, enforced in one place in front of all routing: `adminGate` runs
// for every request, whatever its method, decides "is this the admin API?" on the folded
// path (any case, any encoding, any dot or empty segments; src/http/request-path.ts) and
// lets it go on only with the admin token. Each admin route also carries
// `requireAdminGate`, which only checks that the gate passed this very request, so a
// route mounted without the gate (a future wiring mistake) refuses instead of serving.
import type { Context, Middleware, Next } from 'koa';
import { PosternError } from '../errors.ts';
import { bearerTokenCheck } from '../http/bearer-token.ts';
import { isAdminRequest } from '../http/request-path.ts';
import { ipLimitKey } from '../ip-network.ts';
import type { RateLimiter } from '../storage/ports.ts';

/** Requests the gate let through; a WeakSet, so nothing a client sends can add to it. */
const passed = new WeakSet<Context>();

const tooMany = () =>
  new PosternError('rate_limited', 'Too many failed admin authentications from this address; try again later.', {
    'Retry-After': '900',
  });

const unauthorized = () =>
  new PosternError('unauthenticated', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".', {
    'WWW-Authenticate': 'Bearer realm="postern-admin"',
  });

/**
 * Bearer-token check in constant time (bearer-token.ts). Failed attempts are counted per
 * client IP; an IP that used up its allowance is refused before the token is even looked
 * at, so guessing cannot go on at full speed.
 */
export function adminGate(token: string, failures: RateLimiter): Middleware {
  const valid = bearerTokenCheck(token);
  return (ctx, next) => (isAdminRequest(ctx) ? gate(ctx, next) : next());

  async function gate(ctx: Context, next: Next): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    // Counted per IPv4 address or IPv6 /64: one attacker holds a whole /64.
    const client = ipLimitKey(ctx.ip);
    if (await failures.exhausted(client)) throw tooMany();
    if (!valid(ctx)) {
      if (!(await failures.hit(client))) throw tooMany();
      throw unauthorized();
    }
    passed.add(ctx);
    await next();
  }
}

/** First middleware of every admin route: the gate must have passed this request. */
export const requireAdminGate: Middleware = async (ctx, next) => {
  if (!passed.has(ctx)) throw unauthorized();
  await next();
};
