// Last in the chain: everything else under /apps/{id} belongs to that app's oidc-provider;
// anything else is Postern's 404.
import type { Context, Middleware, Next } from 'koa';
import { APPS_PREFIX, appPath } from '../apps/app-paths.ts';
import { notFound } from '../errors.ts';
import { guardEngine } from '../http/engine-guard.ts';
import { mayFinishAtClient } from '../oidc/engine.ts';
import type { LiveProvider, ProviderRegistry } from './provider-registry.ts';
import type { Provider } from 'oidc-provider';
import { PublicDocuments } from './public-documents.ts';

const APP = new RegExp(`^${APPS_PREFIX}/([^/]+)(?:/|$)`);
/**
 * RFC 8414 §3.1: the authorization server metadata of an issuer with a path is at the
 * well-known path inserted before it. It is the app's discovery document (§3: the same
 * values), so the request is answered as one for that document.
 */
const AS_METADATA = new RegExp(`^/\\.well-known/oauth-authorization-server(${APPS_PREFIX}/[^/]+)$`);

/**
 * Runs before the engine with the path under the app's issuer; true when it changed the
 * app, so the request goes to the rebuilt Provider (oidc/registrable-algorithms.ts).
 */
export type BeforeEngine = (ctx: Context, appId: string, path: string, provider: Provider) => boolean | Promise<boolean>;

export function mountApps(registry: ProviderRegistry, beforeEngine?: BeforeEngine): Middleware {
  // Not async: a request to an app whose Provider is cached, built and fresh, that changes
  // no app and cannot finish at the client (most engine traffic), goes to the engine with
  // no frame or promise of its own here; every other one takes `viaRegistry`.
  return (ctx, next) => {
    const metadataOf = AS_METADATA.exec(ctx.path)?.[1];
    if (metadataOf) ctx.path = `${metadataOf}/.well-known/openid-configuration`;
    const id = APP.exec(ctx.path)?.[1];
    if (!id) {
      // Not thrown: the routers' allowedMethods above turn a 404 on a known path into 405.
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'Not found.' };
      return;
    }
    const path = ctx.path.slice(appPath(id).length);
    const document = PublicDocuments.routeOf(ctx, path);
    if (document) return serveDocument(registry, ctx, next, id, document);
    const cached = registry.ready(id);
    if (!cached) return viaRegistry(ctx, next, id, path);
    const before = beforeEngine ? beforeEngine(ctx, id, path, cached.provider) : false;
    if (before === false && !mayFinishAtClient(ctx, cached.provider, path)) return guardEngine(ctx, () => cached.handle(ctx, next));
    return viaRegistry(ctx, next, id, path, { cached, before });
  };

  /** `known`: the cached Provider and what `beforeEngine` answered for it, when the look-up was made already. */
  async function viaRegistry(ctx: Context, next: Next, id: string, path: string, known?: { cached: LiveProvider; before: boolean | Promise<boolean> }): Promise<void> {
    const cached = known ? known.cached : await registry.get(id);
    const before = known ? known.before : cached && beforeEngine ? beforeEngine(ctx, id, path, cached.provider) : false;
    const changed = typeof before === 'boolean' ? before : await before;
    // A request that may send the browser to the app is checked against the app as stored
    // now (oidc/redirect-recheck.ts), even if this instance missed the change notice.
    const finishing = cached && mayFinishAtClient(ctx, cached.provider, path);
    const live = finishing || changed ? await registry.get(id, { revalidate: true }) : cached;
    if (!live) throw notFound('No such app.');
    await guardEngine(ctx, () => live.handle(ctx, next));
  }
}

/**
 * Discovery and the JWKS: no cached Provider needed (tenancy/provider-registry.ts), and no
 * registration or redirect check applies to them.
 */
async function serveDocument(registry: ProviderRegistry, ctx: Context, next: Next, id: string, document: NonNullable<ReturnType<typeof PublicDocuments.routeOf>>): Promise<void> {
  const source = await registry.forDocument(id, document);
  if (!source) throw notFound('No such app.');
  const { documents, handle } = source;
  return guardEngine(ctx, () => documents.serve(ctx, document, handle ? () => handle(ctx, next) : next));
}
