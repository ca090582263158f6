// A confidential client authenticates with the method it was registered with, and no
// other (RFC 7591 §2 `token_endpoint_auth_method`; OpenID Connect Core §9): a
// client_secret_basic client sends its secret in an Authorization: Basic header, a
// client_secret_post client in the form. The engine accepts a secret by either transport
// for both (engine.ts, A18), so a secret sent the other way is refused here, before the
// engine runs, at every endpoint that authenticates clients: token, revocation,
// introspection (and so revoke_all, which is answered there) and pushed authorization
// requests. Each app has one client, so the app's registered method is the one to hold to.
import type { Middleware } from 'koa';
import { PosternError } from '../errors.ts';
import type { TokenEndpointAuthMethod } from '../storage/ports.ts';
import { engineForm, isEngineRoute, secretTransport } from './engine.ts';
import { INTROSPECTION_PATH, PAR_PATH, REVOCATION_PATH, TOKEN_PATH } from './shared-configuration.ts';

const AUTHENTICATING_ROUTES = [TOKEN_PATH, REVOCATION_PATH, INTROSPECTION_PATH, PAR_PATH];

export function registeredClientAuthMethod(registered: TokenEndpointAuthMethod, issuer: string): Middleware {
  return async (ctx, next) => {
    // A public client presenting a secret is the engine's own invalid_client already.
    if (registered !== 'none' && AUTHENTICATING_ROUTES.some((route) => isEngineRoute(ctx, ctx.path, 'POST', route))) {
      const form = await engineForm(ctx);
      const presented = form && secretTransport(ctx, form);
      if (presented && presented !== registered) {
        const description = `This client is registered for ${registered}: it authenticates with that method only.`;
        // RFC 6749 §5.2: a client that tried the Authorization header gets a challenge,
        // spelt as the engine spells its own.
        const challenge: Record<string, string> =
          presented === 'client_secret_basic' ? { 'WWW-Authenticate': `Basic realm="${issuer}", error="invalid_client", error_description="${description}"` } : {};
        throw new PosternError('invalid_client', description, challenge);
      }
    }
    await next();
  };
}
