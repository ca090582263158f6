// The first-party grant (first-party-grant.ts) for the app's APIs: the clients are the
// app's own, so the scopes a request asks of an API it names (resource-indicators.ts has
// already refused any the API does not have) join the grant without a consent screen, as
// the OpenID scopes do. Without this, the engine would ask for consent (its
// `rs_scopes_missing` check) on every request for an API.
import type { KoaContextWithOIDC } from 'oidc-provider';

type Grant = InstanceType<KoaContextWithOIDC['oidc']['provider']['Grant']>;

/** Adds to `grant` the requested scopes of each requested API it lacks; true when it added any. */
export function addRequestedResourceScopes(grant: Grant, oidc: KoaContextWithOIDC['oidc']): boolean {
  let added = false;
  for (const [identifier, server] of Object.entries(oidc.resourceServers ?? {})) {
    const granted = new Set(grant.getResourceScopeEncountered(identifier).split(' '));
    const missing = [...oidc.requestParamScopes].filter((scope) => server.scopes.has(scope) && !granted.has(scope));
    if (missing.length) {
      grant.addResourceScope(identifier, missing.join(' '));
      added = true;
    }
  }
  return added;
}
