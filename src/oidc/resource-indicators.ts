// API access tokens: RFC 8707 resource indicators answered from the app's record
// (apps/api-resources.ts), and RFC 9068 JWT access tokens for them. A request that names
// one of the app's APIs as `resource` gets, at the token endpoint, a JWT signed with the
// app's current key for its ID token algorithm, `aud` the API, which the API verifies
// against the app's JWKS. Without `resource`, the access token stays opaque and serves
// userinfo only.
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { OIDC_SCOPE_NAMES } from '../apps/api-resources.ts';
import { DEFAULT_ID_TOKEN_ALG } from '../apps/client-options.ts';
import type { AppRecord, OidcStore } from '../storage/ports.ts';
import { JWT_ACCESS_TOKEN_MODEL, unavailable } from './engine.ts';

type Features = NonNullable<Configuration['features']>;
type Formats = NonNullable<Configuration['formats']>;
type JwtCustomizer = NonNullable<NonNullable<Formats['customizers']>['jwt']>;

/**
 * `features.resourceIndicators`: a resource is one of the app's APIs, named exactly as
 * registered (any other spelling, another app's API or an unknown URI is invalid_target,
 * so a token's `aud` is always a registered identifier). Every client of the app may use
 * every API of the app. The engine's defaults stay for the rest: no resource unless the
 * client names one, and at the token endpoint the resource of the authorization is used
 * only when the client names it again or asked for no `openid` (an access token for
 * userinfo otherwise).
 */
export function resourceIndicatorsOf(app: AppRecord): Features['resourceIndicators'] {
  return {
    enabled: true,
    async getResourceServerInfo(ctx: KoaContextWithOIDC, identifier: string) {
      const resource = app.resources?.find((r) => r.identifier === identifier);
      if (!resource) throw new errors.InvalidTarget('resource is not an API registered for this app');
      // A scope that none of the APIs the request names has was meant for another API (or
      // is a typo): asking for it must fail, not yield a token no API will honour. An
      // authorization request may name several APIs; a token request names one.
      const named = new Set([identifier, ...[ctx.oidc.params?.resource ?? []].flat()]);
      const known = new Set((app.resources ?? []).filter((r) => named.has(r.identifier)).flatMap((r) => r.scopes));
      const foreign = [...ctx.oidc.requestParamScopes].find((scope) => !OIDC_SCOPE_NAMES.has(scope) && !known.has(scope));
      if (foreign) throw new errors.InvalidTarget(`scope ${foreign} is not a scope of the requested resource`);
      return {
        scope: resource.scopes.join(' '),
        audience: resource.identifier,
        accessTokenTTL: resource.accessTokenTtl,
        accessTokenFormat: 'jwt',
        // The engine signs with the first key of the algorithm (engine.ts, A5): the current one.
        jwt: { sign: { alg: app.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALG } },
      };
    },
  };
}

/** `ttl.AccessToken`: the API's lifetime for its JWTs, `opaque` seconds for userinfo tokens. */
export function accessTokenTtl(opaque: number) {
  return (_ctx: KoaContextWithOIDC, token: { resourceServer?: { accessTokenTTL?: number | undefined } | undefined }) =>
    token.resourceServer?.accessTokenTTL ?? opaque;
}

/**
 * `formats.customizers.jwt`: the engine stores no JWT access token (engine.ts, A26), so
 * each one's `jti` is recorded here, with its grant, for as long as the token lives:
 * introspection answers from it (jwt-introspection.ts), and a token whose grant was
 * revoked is inactive there. The JWT itself is left as the engine builds it (RFC 9068 §2.2).
 */
export function recordJwtAccessTokens(store: OidcStore, appId: string): JwtCustomizer {
  return async (_ctx, token) => {
    const { jti, grantId, accountId, clientId } = token as typeof token & { grantId?: string; accountId?: string };
    // Nothing undefined is stored (MongoDB would keep it as null).
    const payload = Object.fromEntries(Object.entries({ grantId, accountId, clientId }).filter(([, v]) => v !== undefined));
    await store.upsert(appId, JWT_ACCESS_TOKEN_MODEL, jti, payload, token.expiration).catch(unavailable);
  };
}
