// Routes read from the routers themselves, so tests that walk "every route" cover a route
// added tomorrow without being edited.
import type Router from '@koa/router';

export interface Route {
  readonly path: string;
  readonly methods: readonly string[];
  /** The route's middleware, in order. */
  readonly stack: readonly unknown[];
}

/** Every route of `router` (its own middleware left out): path as registered, methods. */
export function routesOf(router: Router): Route[] {
  return router.stack
    .filter((layer) => layer.methods.length > 0)
    .map((layer) => {
      if (typeof layer.path !== 'string') throw new Error('routes are declared with string paths');
      return { path: layer.path, methods: [...layer.methods], stack: layer.stack };
    });
}

/** The path with each `:param` replaced by `values[param]` (or the fallback). */
export function fillPath(path: string, values: Record<string, string>, fallback = 'x'): string {
  return path.replace(/:([A-Za-z]+)/g, (_, name: string) => values[name] ?? fallback);
}
