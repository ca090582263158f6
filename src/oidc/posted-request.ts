// POST at the authorization endpoint (OpenID Connect Core §3.1.2.1) and the end-session
// endpoint (RP-Initiated Logout §2). The engine serves POST there only with
// `enableHttpPostMethods`, which wants SameSite=None session cookies, so that a cross-site
// POST would carry the session. Postern keeps SameSite=Lax and answers those POSTs itself,
// in front of the engine:
//
// - POST: the form is read strictly (src/http/read-body.ts), its parameters are stored,
//   sealed, under a random single-use handle for POSTED_TTL_SECONDS, and the browser is
//   sent on with 303 See Other to GET at the same endpoint carrying the handle alone.
// - GET with `posted`: the handle is consumed, once, and the engine sees the posted
//   parameters as its query (engine.ts, A9 and A15), offline-access.ts included.
//
// The browser follows a 303 with a top-level GET, which carries the Lax session cookie
// exactly as a link to the endpoint would: a cross-site POST can do nothing a cross-site
// link could not. Why, and what it costs: docs/authorization-post.md.
import { randomBytes } from 'node:crypto';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Context, Middleware } from 'koa';
import { badRequest } from '../errors.ts';
import { readForm } from '../http/read-body.ts';
import type { OidcStore } from '../storage/ports.ts';
import { ENGINE_BODY_LIMIT, isEngineRoute, rewriteEngineQuery } from './engine.ts';
import { AUTHORIZATION_PATH, END_SESSION_PATH } from './shared-configuration.ts';

/** Long enough for any browser to follow a redirect, short enough to leave nothing lying around. */
export const POSTED_TTL_SECONDS = 60;

/** The query parameter that carries the handle. */
export const POSTED_PARAM = 'posted';

interface Endpoint {
  /** The engine's route (under the issuer). */
  readonly route: string;
  /** Documents of one endpoint are a model of their own: a handle is valid at its own endpoint only. */
  readonly model: string;
  /** What the person was doing, for the page that says the handle is no good. */
  readonly what: string;
}

const ENDPOINTS: readonly Endpoint[] = [
  { route: AUTHORIZATION_PATH, model: 'PostedAuthorization', what: 'sign-in' },
  { route: END_SESSION_PATH, model: 'PostedEndSession', what: 'sign-out' },
];

/** The routes Postern answers POST at, in front of the engine (load shedding sheds them). */
export const POSTED_ROUTES: readonly string[] = ENDPOINTS.map((e) => e.route);

/** 256 random bits, base64url: what the POST hands out. */
const HANDLE = /^[A-Za-z0-9_-]{43}$/;

export interface PostedRequestDeps {
  readonly appId: string;
  readonly issuer: string;
  /** The engine's documents, sealed at rest (keys/sealed-oidc-store.ts), shared by every instance. */
  readonly documents: OidcStore;
}

/** Middleware for `provider.use`, ahead of every other: it runs before the engine's routes. */
export function postedRequests(deps: PostedRequestDeps): Middleware {
  const { appId, issuer, documents } = deps;
  const endpointOf = (route: string) => ENDPOINTS.find((e) => e.route === route)!;

  async function store(ctx: Context, endpoint: Endpoint): Promise<void> {
    if (ctx.querystring) throw badRequest('Send the parameters in the form body only, not also in the URL.');
    const params = await readForm(ctx, ENGINE_BODY_LIMIT);
    const handle = randomBytes(32).toString('base64url');
    await documents.upsert(appId, endpoint.model, handle, { params }, POSTED_TTL_SECONDS);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${issuer}${endpoint.route}?${new URLSearchParams({ [POSTED_PARAM]: handle })}`);
  }

  /** The parameters stored under the handle, if it is this endpoint's and nobody used it yet; used up. */
  async function take(endpoint: Endpoint, handle: string): Promise<Record<string, string> | undefined> {
    // Consuming is atomic in every store: of parallel uses of one handle, exactly one wins.
    if (!HANDLE.test(handle) || !(await documents.consume(appId, endpoint.model, handle))) return undefined;
    const stored = await documents.find(appId, endpoint.model, handle);
    await documents.destroy(appId, endpoint.model, handle);
    return stored?.params as Record<string, string> | undefined;
  }

  /** The posted parameters in place of the handle; a query without one stays as it is, at once. */
  const restore = rewriteEngineQuery(POSTED_ROUTES, (query: ParsedUrlQuery, route) => (Object.hasOwn(query, POSTED_PARAM) ? restored(query, route) : query));

  async function restored(query: ParsedUrlQuery, route: string): Promise<ParsedUrlQuery> {
    const endpoint = endpointOf(route);
    const handle = query[POSTED_PARAM];
    if (typeof handle !== 'string' || Object.keys(query).length !== 1) {
      throw badRequest(`This ${endpoint.what} request mixes posted parameters with others in the address, so it cannot continue. Go back to the app and try again.`);
    }
    const params = await take(endpoint, handle);
    if (!params) {
      throw badRequest(`This ${endpoint.what} request has expired or was already used. Go back to the app and try again.`);
    }
    return params;
  }

  return (ctx, next) => {
    const posted = ctx.method === 'POST' ? ENDPOINTS.find((e) => isEngineRoute(ctx, ctx.path, 'POST', e.route)) : undefined;
    return posted ? store(ctx, posted) : restore(ctx, next);
  };
}
