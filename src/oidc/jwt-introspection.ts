// Introspection of JWT access tokens (RFC 7662 for RFC 9068 tokens). The engine refuses to
// introspect a structured token (engine.ts, A25), but an API that wants to know whether a
// grant was revoked before the token expires has only introspection to ask. So after the
// engine authenticated the client and refused the JWT, Postern answers instead: `active`
// only for a JWT this app signed (its published keys, its issuer, `typ: at+jwt`), not
// expired, issued to this very client (as the engine's introspection.allowedPolicy), and
// whose grant is still there: revoking the refresh token or revoke_all ends the grant.
// The answer is JSON, also for a client that signs introspection responses (RFC 9701).
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Context, Middleware, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../clock.ts';
import { keyAlgsOf, publishedKeys } from '../keys/key-ring.ts';
import type { AppRecord, OidcStore } from '../storage/ports.ts';
import { clientRefusedStructuredToken, engineForm, isEngineRoute, isStructuredToken, JWT_ACCESS_TOKEN_MODEL, unavailable } from './engine.ts';
import { INTROSPECTION_PATH } from './shared-configuration.ts';

const INACTIVE = { active: false } as const;

export function introspectJwtAccessTokens(app: AppRecord, issuer: string, deps: { store: OidcStore; clock: Clock }): Middleware {
  /** The token's claims if this app signed it for an API and it has not expired. */
  async function verified(token: string): Promise<JWTPayload | undefined> {
    const now = deps.clock.now();
    const keys = createLocalJWKSet({ keys: publishedKeys(app.keys, now).map((k) => k.publicJwk as JWK) });
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, typ: 'at+jwt', algorithms: keyAlgsOf(app), currentDate: new Date(now) });
      return payload;
    } catch {
      return undefined;
    }
  }

  async function answer(ctx: KoaContextWithOIDC, token: string, clientId: string) {
    const claims = await verified(token);
    if (!claims || claims.client_id !== clientId || typeof claims.jti !== 'string') return INACTIVE;
    const issued = await deps.store.find(app.id, JWT_ACCESS_TOKEN_MODEL, claims.jti).catch(unavailable);
    if (!issued || issued.clientId !== clientId || issued.accountId !== claims.sub || typeof issued.grantId !== 'string') return INACTIVE;
    const grant = await ctx.oidc.provider.Grant.find(issued.grantId);
    if (!grant || grant.clientId !== clientId || grant.accountId !== issued.accountId) return INACTIVE;
    const { sub, scope, aud, iss, exp, iat, jti } = claims;
    return { active: true, sub, client_id: clientId, scope, aud, iss, exp, iat, jti, token_type: 'Bearer' };
  }

  return (ctx, next) => (isEngineRoute(ctx, ctx.path, 'POST', INTROSPECTION_PATH) ? introspected(ctx, next) : next());

  async function introspected(ctx: Context, next: Next): Promise<void> {
    const token = (await engineForm(ctx))?.token;
    if (typeof token !== 'string' || !isStructuredToken(token)) return next();
    await next();
    const clientId = clientRefusedStructuredToken(ctx);
    if (!clientId) return; // the engine's own error (client authentication, request) stands
    ctx.status = 200;
    ctx.body = await answer(ctx as unknown as KoaContextWithOIDC, token, clientId);
  }
}
