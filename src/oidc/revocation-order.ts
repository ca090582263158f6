// RFC 7009 revocation in an order a store failure cannot leave half-done. The engine
// removes the presented token, then revokes its grant (engine.ts, A71). A failure between
// the two answered 503, and the client's retry, which a 503 asks for, found no token and
// answered 200 while the grant and every other token of it lived on: a thief's refresh
// chain, continued from the token the user revoked, kept working. So at a revocation the
// presented token is removed last, once the request has succeeded (revoking its grant has
// usually removed it by then); when anything failed before, it is still there for the retry.
import type { Context, Next } from 'koa';
import type { Adapter } from 'oidc-provider';
import { mayReachPostOnlyRoute, revocationPresenting } from './engine.ts';

/** Per revocation request: the removal of the presented token, left for the end. */
const removalsLeft = new WeakMap<object, () => Promise<void>>();
/** Revocation requests that removed the token they presented. */
const revoked = new WeakSet<object>();

/**
 * Whether this revocation removed the token it presented. RFC 7009 answers 200 also for a
 * token it does not know or one of another client, which it leaves alone.
 */
export function revokedPresentedToken(ctx: Context): boolean {
  return revoked.has(ctx);
}

/** The adapter of a revocable token model (A71), over the one that stores it. */
export function revocationOrderAdapter(inner: Adapter, model: string): Adapter {
  return {
    ...inner,
    async destroy(id: string) {
      const request = revocationPresenting(model, id);
      if (!request) return inner.destroy(id);
      removalsLeft.set(request, () => inner.destroy(id));
    },
  };
}

/** Middleware for `provider.use`: removes a revocation's presented token once the engine has answered 200. */
export async function removePresentedTokenLast(ctx: Context, next: Next): Promise<void> {
  // Revocation is POST only (A41): other requests need no wrapping.
  if (!mayReachPostOnlyRoute(ctx)) return next();
  await next();
  const remove = removalsLeft.get(ctx);
  if (!remove) return;
  removalsLeft.delete(ctx);
  if (ctx.status !== 200) return;
  await remove();
  revoked.add(ctx);
}
