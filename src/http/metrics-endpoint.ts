// GET /metrics: who may read it, and the request metrics every response feeds. The gate
// runs before all routing, like the admin gate, and decides "is this /metrics?" on the
// folded path (every case and encoding; request-path.ts), so no spelling of the path
// reaches the route without passing it. The route itself is in root-routes.ts.
import type { Context, Middleware } from 'koa';
import { notFound, PosternError } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { bearerTokenCheck } from './bearer-token.ts';
import type { RequestObserver } from './request-context.ts';
import { foldedPathOf } from './request-path.ts';

export const METRICS_PATH = '/metrics';

export interface MetricsAccess {
  /** METRICS_TOKEN: when set, required. */
  readonly token: string | undefined;
  /** Without a token: open (development, test) or not there at all (production). */
  readonly openWithoutToken: boolean;
}

const unauthorized = () =>
  new PosternError('unauthenticated', 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".', {
    'WWW-Authenticate': 'Bearer realm="postern-metrics"',
  });

export function metricsGate(access: MetricsAccess): Middleware {
  const valid = access.token === undefined ? undefined : bearerTokenCheck(access.token);
  return (ctx, next) => {
    if (foldedPathOf(ctx)[0] !== METRICS_PATH.slice(1)) return next();
    ctx.set('Cache-Control', 'no-store');
    if (valid) {
      // A random token of at least 32 characters and 80 bits (its parser's entropy check): guessing it needs no rate limit.
      if (!valid(ctx)) throw unauthorized();
    } else if (!access.openWithoutToken) {
      throw notFound();
    }
    return next();
  };
}

/**
 * Every request's method, route template, status and duration, told by the outermost
 * middleware (request-context.ts, requestLog). The route is the engine's name for it
 * (`oidc:token`) or the template of the Postern route that answered (`/admin/apps/:id`),
 * never the path as sent: a path no route serves is `unmatched`, so a scanner's paths
 * cannot add label values.
 */
export function countRequests(metrics: Metrics): RequestObserver {
  return (ctx, seconds) => metrics.request(ctx.method, routeOf(ctx), ctx.status, seconds);
}

function routeOf(ctx: Context): string {
  const engineRoute = (ctx as { oidc?: { route?: unknown } }).oidc?.route;
  if (typeof engineRoute === 'string') return `oidc:${engineRoute}`;
  const template = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof template === 'string' ? template : 'unmatched';
}
