// A router as one middleware: its routes, then its 405/501 answers (with the Allow header
// @koa/router sets) given the API's JSON error body. One mount per router, so no separate
// middleware has to sit at the right position for the bodies to come out right.
import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

const METHOD_ERRORS: Record<number, (allow: string) => string> = {
  405: (allow) => `Method not allowed. Allowed: ${allow}.`,
  501: () => 'Not implemented.',
};

export function mountRouter(router: Router): Middleware {
  const routes = router.routes();
  const allowed = router.allowedMethods();
  return async (ctx, next) => {
    // Set only when no route of this router answered and the request went on downstream.
    let downstream: number | undefined;
    await routes(ctx as never, () =>
      allowed(ctx as never, async () => {
        await next();
        downstream = ctx.status;
      }),
    );
    const describe = METHOD_ERRORS[ctx.status];
    if (downstream !== undefined && ctx.status !== downstream && describe) {
      // The router turned the 404 of a path it knows into 405/501.
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: describe(ctx.response.get('allow')) };
    }
  };
}

/**
 * Routers in order, as one middleware that walks only those with a route whose path could
 * be this request's: every route is a sequence of segments, each a literal the path must
 * repeat exactly (routers are case-sensitive and strict: request-path.ts) or one holding a
 * parameter, which matches any one segment. A path no route could match (most of an app's
 * engine traffic) goes straight on, as it would have after every router found nothing.
 * Routers are walked as before when a route's path is not of that simple form, and for a
 * method some router does not implement (allowedMethods answers those 501 on any path).
 */
export function mountRouters(routers: readonly Router[]): Middleware {
  const mounted = routers.map((router) => ({ middleware: mountRouter(router), mayMatch: pathsOf(router), methods: new Set(router.methods) }));
  const all = mounted.map((m) => m.middleware);
  const sorting = mounted.every((m) => m.mayMatch);
  /** Methods every router implements: only those are sorted by path. */
  const everywhere = new Set([...(mounted[0]?.methods ?? [])].filter((method) => mounted.every((m) => m.methods.has(method))));
  return (ctx, next) => {
    if (!sorting || !everywhere.has(ctx.method)) return walk(all, 0, ctx, next);
    const segments = ctx.path.split('/');
    // No list is made for a path no route could match (most of an app's engine traffic).
    let candidates: Middleware[] | undefined;
    for (const m of mounted) if (m.mayMatch!(segments)) (candidates ??= []).push(m.middleware);
    return candidates ? walk(candidates, 0, ctx, next) : next();
  };
}

/** The middlewares from `i` on, then `next`. */
function walk(middlewares: readonly Middleware[], i: number, ctx: Context, next: Next): Promise<unknown> {
  return i === middlewares.length ? next() : Promise.resolve(middlewares[i]!(ctx, () => walk(middlewares, i + 1, ctx, next)));
}

/** A route's path as segments: a literal, or undefined for one holding a parameter. */
type Shape = readonly (string | undefined)[];

const LITERAL_SEGMENT = /^[^:*?(){}\\]*$/;
const PARAMETER_SEGMENT = /^[^:*?(){}\\]*:[A-Za-z_$][\w$]*[^:*?(){}\\]*$/;

/**
 * Whether a path, split at `/`, could be one of the router's routes: false only when no
 * route's path can match it. Undefined when a route's path is not a plain sequence of
 * segments (then the router is always walked).
 */
export function pathsOf(router: Router): ((segments: readonly string[]) => boolean) | undefined {
  const shapes: Shape[] = [];
  for (const layer of router.stack) {
    if (!layer.methods.length) continue;
    if (typeof layer.path !== 'string') return undefined;
    const shape = layer.path.split('/').map((segment) => (LITERAL_SEGMENT.test(segment) ? segment : PARAMETER_SEGMENT.test(segment) ? undefined : null));
    if (shape.includes(null)) return undefined;
    shapes.push(shape as Shape);
  }
  return (segments) => shapes.some((shape) => fits(shape, segments));
}

function fits(shape: Shape, segments: readonly string[]): boolean {
  if (shape.length !== segments.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const literal = shape[i];
    // A parameter matches one segment that is not empty.
    if (literal === undefined ? segments[i] === '' : literal !== segments[i]) return false;
  }
  return true;
}
