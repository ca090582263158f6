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

/**
 * Other spellings of a route that a lenient server, proxy or framework might take for the
 * same resource: letter case (of the whole path and of each literal segment), percent-encoding (also double), empty, `.` and `..`
 * segments, escaped slashes, backslashes, `;` parameters, padding, trailing slashes.
 * Only literal segments change (a `:param` is a value: another value is another
 * resource, not another spelling); `values` fills the params in afterwards. The
 * canonical path itself is never in the list.
 */
export function otherSpellings(template: string, values: Record<string, string> = {}): string[] {
  const segments = template.split('/').slice(1);
  const literal = segments.map((s, i) => (s.startsWith(':') ? -1 : i)).filter((i) => i >= 0);
  const first = literal[0]!;
  const last = literal.at(-1)!;
  const hex = (c: string) => `%${c.charCodeAt(0).toString(16)}`;
  const alternate = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  const change = (at: number, f: (s: string) => string) => `/${segments.map((s, i) => (i === at ? f(s) : s)).join('/')}`;
  const canonical = `/${segments.join('/')}`;
  /** The path with `glue` in place of the slash before segment `at` (the leading slash stays). */
  const before = (at: number, glue: string) => `/${segments.slice(0, at).join('/')}${at > 0 ? glue : glue.slice(1)}${segments.slice(at).join('/')}`;
  const afterFirst = segments.slice(first + 1).join('/');
  const all = [
    `/${segments.map((s) => (s.startsWith(':') ? s : s.toUpperCase())).join('/')}`,
    change(first, (s) => s.charAt(0).toUpperCase() + s.slice(1)),
    change(first, alternate),
    ...literal.map((at) => change(at, (s) => s.toUpperCase())),
    change(first, (s) => s.replace(/[a-z0-9]/, hex)),
    change(first, (s) => s.replace(/[a-z]/, (c) => hex(c.toUpperCase()))),
    change(first, (s) => [...s].map(hex).join('')),
    change(first, (s) => s.replace(/[a-z0-9]/, (c) => `%25${hex(c).slice(1)}`)),
    change(last, (s) => s.replace(/[a-z0-9]/i, hex)),
    `/${canonical}`,
    canonical.replaceAll('/', '//'),
    `${canonical}/`,
    `${canonical}/.`,
    `${canonical}//`,
    before(first, '/./'),
    before(first, '/x/../'),
    before(first, '/x/%2e%2e/'),
    before(first, '/x\\..\\'),
    ...(last > 0 ? [before(last, '//'), before(last, '/./'), before(last, '/x/../')] : []),
    ...(afterFirst
      ? [
          before(first + 1, '%2F'),
          before(first + 1, '%2f'),
          before(first + 1, '\\'),
          `/${segments.slice(0, first + 1).join('/')}%2F${afterFirst.replaceAll('/', '%2F')}`,
          `/${segments.slice(0, first + 1).join('/')}\\${afterFirst.replaceAll('/', '\\')}`,
        ]
      : []),
    change(first, (s) => `${s};x=1`),
    change(first, (s) => `${s}%20`),
  ];
  return [...new Set(all)].filter((v) => v !== canonical).map((v) => fillPath(v, values));
}
