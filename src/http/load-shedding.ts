// Load shedding. When the event loop lags (event-loop-lag.ts), every request already waits
// behind the others, and the expensive ones make it worse: signing tokens, generating
// keys, sending mail, writing to the store. While the lag is over the limit
// (MAX_EVENT_LOOP_LAG_MS), those routes answer 503 temporarily_unavailable with
// Retry-After at once, before any of their work, and everything else is served: pages,
// discovery, JWKS, userinfo, introspection, sign-out (the logout page, its confirmation,
// sign-out everywhere), /healthz and /readyz.
//
// Expensive requests also take turns (turns.ts): in a burst, each turn of the event loop
// starts only a few milliseconds of their work, the rest wait in order of arrival and are
// refused once they have waited longer than MAX_QUEUE_WAIT_MS, so that the cheap routes are
// answered between turns instead of behind the whole burst.
//
// Which routes are expensive is read from the routes themselves, never from a list of
// paths: Postern's routers are walked (each router has a policy below; a router without
// one stops the server from being built), the engine's token endpoint is known by its
// configured route, and so are the endpoints where Postern answers POST in front of the
// engine (the authorization and end-session endpoints: src/oidc/posted-request.ts).
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { performance } from 'node:perf_hooks';
import { APPS_PREFIX } from '../apps/app-paths.ts';
import { PosternError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { POSTED_ROUTES } from '../oidc/posted-request.ts';
import { TOKEN_PATH } from '../oidc/shared-configuration.ts';
import type { LagSource } from './event-loop-lag.ts';
import { foldedSegments } from './request-path.ts';
import { Turns } from './turns.ts';

/** What a route does under overload. */
export type Policy = 'shed' | 'serve';

/**
 * Each router of server.ts: `writes` sheds its routes that change state (any method but
 * GET, HEAD and OPTIONS) and serves its reads; `serve` sheds nothing.
 */
const ROUTER_POLICIES: Readonly<Record<string, 'writes' | 'serve'>> = {
  // Health, readiness and the stylesheet must stay fast under any load.
  root: 'serve',
  // Creating an app and rotating keys generate keys; changing one rebuilds its engine;
  // deleting one purges all its data.
  admin: 'writes',
  // A client's change rebuilds its app's engine and may generate keys.
  clients: 'writes',
  // Requesting and resending a link sends mail; typing a code and confirming a link
  // check it and finish the sign-in.
  login: 'writes',
  // Signing out everywhere must work when it is needed most, and so must an admin
  // signing a (compromised) account out.
  revokeAll: 'serve',
  // Staying signed in reads the session and changes nothing.
  signOut: 'serve',
  adminSignOut: 'serve',
};

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The refusals: told to wait at least the second a lag is remembered, spread over 1 to 3
 * seconds so that clients refused together do not all come back together. Made once: a
 * burst refuses thousands, and an error's stack costs more than the rest of the refusal.
 */
const REFUSALS = [1, 2, 3].map((seconds) => new PosternError('unavailable', 'The service is busy. Try again in a moment.', { 'Retry-After': String(seconds) }));
const refusal = () => REFUSALS[Math.floor(Math.random() * REFUSALS.length)]!;
/** At most one log line per this many milliseconds while shedding. */
const LOG_EVERY_MS = 10_000;

export interface Classified {
  /** The route as declared: router (or `engine`), method and path template. */
  readonly route: string;
  readonly policy: Policy;
}

/** Which route a request reaches and whether it is shed under overload. */
export class RouteCosts {
  readonly #routes: { readonly route: string; readonly layer: Router['stack'][number]; readonly policy: 'writes' | 'serve' }[] = [];

  constructor(routers: Readonly<Record<string, Router>>) {
    for (const [name, router] of Object.entries(routers)) {
      const policy = ROUTER_POLICIES[name];
      if (!policy) throw new Error(`router "${name}" has no load-shedding policy (src/http/load-shedding.ts)`);
      for (const layer of router.stack) {
        if (layer.methods.length) this.#routes.push({ route: `${name} ${String(layer.path)}`, layer, policy });
      }
    }
  }

  /** Undefined for a path nothing serves (a cheap 404 either way). */
  classify(method: string, path: string): Classified | undefined {
    for (const { route, layer, policy } of this.#routes) {
      if (!layer.methods.includes(method) || !layer.match(path)) continue;
      return { route: `${route} ${method}`, policy: policy === 'writes' && !READS.has(method) ? 'shed' : 'serve' };
    }
    // Everything else under /apps/{id}/ is the engine's. It folds case and tolerates
    // other spellings, so the path is read the generous way: no spelling of the token
    // endpoint escapes shedding.
    const [prefix, app, ...rest] = foldedSegments(path);
    if (`/${prefix}` !== APPS_PREFIX || !app) return undefined;
    const endpoint = `/${rest.join('/')}`;
    // A POST at the authorization or end-session endpoint writes to the store, like a
    // sign-in step.
    const shed = !READS.has(method) && (endpoint === TOKEN_PATH || (method === 'POST' && POSTED_ROUTES.includes(endpoint)));
    return { route: `engine ${endpoint} ${method}`, policy: shed ? 'shed' : 'serve' };
  }
}

/**
 * Synchronous work expensive requests may start or go on with per turn of the event loop
 * (turns.ts): small against the lag limit, so that a cheap request waits for a few turns at most.
 */
const TURN_BUDGET_MS = 5;

/**
 * The longest an expensive request waits for its turn before it is refused. Longer than
 * the lag limit: a burst's own arrival takes tens of milliseconds to read, and requests
 * waiting delay cheap ones only through the work of those admitted. It is the knob between
 * goodput and /healthz under a burst (bench/README.md, fourth round): 500 ms served whole
 * bursts and slowed /healthz, since a served request also works outside the turns (reply
 * parsing, socket writes, mail); 100 ms serves a share of a burst.
 */
export const MAX_QUEUE_WAIT_MS = 100;

/**
 * The turns expensive requests take (turns.ts), made before the routes so that the stores
 * can be paced by them too (Stores.pace); undefined when load shedding is off
 * (`maxLagMs` 0).
 */
export function expensiveTurns(maxLagMs: number, lag: LagSource): Turns | undefined {
  return maxLagMs === 0 ? undefined : new Turns({ budgetMs: TURN_BUDGET_MS, maxWaitMs: Math.max(MAX_QUEUE_WAIT_MS, maxLagMs), maxLagMs, lag });
}

export interface LoadSheddingDeps {
  readonly routers: Readonly<Record<string, Router>>;
  /** From expensiveTurns; undefined: load shedding is off. */
  readonly turns: Turns | undefined;
  /** Lag beyond which expensive routes are shed while none waits for its turn. */
  readonly maxLagMs: number;
  readonly lag: LagSource;
  readonly logger: Logger;
}

/** The load-shedding middleware, and its queue of expensive requests to refuse at shutdown. */
export class LoadShedding {
  readonly middleware: Middleware;
  readonly #turns: Turns | undefined;

  constructor(deps: LoadSheddingDeps) {
    const { maxLagMs, lag, logger, turns } = deps;
    // Off: nothing to look at, not even a promise of its own per request.
    if (!turns) {
      this.middleware = (_ctx, next) => next();
      return;
    }
    const costs = new RouteCosts(deps.routers);
    this.#turns = turns;
    let shed = 0;
    let loggedAt = Number.NEGATIVE_INFINITY;
    const refuse = () => {
      shed++;
      const now = performance.now();
      if (now - loggedAt >= LOG_EVERY_MS) {
        logger.warn('overloaded: shedding expensive requests', { lag_ms: Math.round(lag.lagMs()), max_lag_ms: maxLagMs, waiting: turns.waiting, shed });
        loggedAt = now;
        shed = 0;
      }
      return refusal();
    };
    this.middleware = async (ctx, next) => {
      // Reads are never shed (classify), so most requests skip the routes' walk.
      if (READS.has(ctx.method) || costs.classify(ctx.method, ctx.path)?.policy !== 'shed') return next();
      const admission = turns.admit();
      // Most of the time the answer is there at once: no wait, not even a microtask.
      if ((typeof admission === 'string' ? admission : await admission) === 'shed') throw refuse();
      await next();
    };
  }

  /** Expensive requests waiting for their turn. */
  get waiting(): number {
    return this.#turns?.waiting ?? 0;
  }

  /** Shutdown: every request waiting for its turn, and every expensive one from now on, is refused. */
  close(): void {
    this.#turns?.close();
  }
}
