// A confidential client authenticates with the method it was registered with, and no
// other (RFC 7591 §2 `token_endpoint_auth_method`; OpenID Connect Core §9): a
// client_secret_basic client sends its secret in an Authorization: Basic header, a
// client_secret_post client in the form. The engine accepts a secret by either transport
// for both (engine.ts, A18), so a secret sent the other way is refused here, before the
// engine runs, at every endpoint that authenticates clients: token, revocation,
// introspection (and so revoke_all, which is answered there) and pushed authorization
// requests. Each client is held to its own registered method.
//
// After a secret rotation the client's previous secret is accepted for its grace period:
// presented by the registered method, it is replaced by the current one before the engine,
// which knows one secret per client, compares it.
import type { Context, Middleware, Next } from 'koa';
import type { ClientCredentials } from '../apps/clients.ts';
import { PosternError } from '../errors.ts';
import { equalText } from '../keys/equal-text.ts';
import { engineForm, isEngineRoute, presentedCredentials, presentSecretInstead, secretTransport } from './engine.ts';
import { INTROSPECTION_PATH, PAR_PATH, REVOCATION_PATH, TOKEN_PATH } from './shared-configuration.ts';

const AUTHENTICATING_ROUTES = [TOKEN_PATH, REVOCATION_PATH, INTROSPECTION_PATH, PAR_PATH];

/** `credentialsOf`: the client's registered method and secrets as stored now; undefined for a client the app does not have. */
export function registeredClientAuthMethod(credentialsOf: (clientId: string) => Promise<ClientCredentials | undefined>, issuer: string): Middleware {
  return (ctx, next) => (AUTHENTICATING_ROUTES.some((route) => isEngineRoute(ctx, ctx.path, 'POST', route)) ? checked(ctx, next) : next());

  async function checked(ctx: Context, next: Next): Promise<void> {
    const form = await engineForm(ctx);
    const presented = form && secretTransport(ctx, form);
    const credentials = presented && presentedCredentials(ctx, form, presented);
    const client = credentials ? await credentialsOf(credentials.clientId) : undefined;
    // A public client presenting a secret, or an unknown one, is the engine's own invalid_client already.
    const registered = client?.method;
    if (!credentials || !client || registered === 'none') return next();
    if (presented !== registered) {
      const description = `This client is registered for ${registered}: it authenticates with that method only.`;
      // RFC 6749 §5.2: a client that tried the Authorization header gets a challenge,
      // spelt as the engine spells its own.
      const challenge: Record<string, string> =
        presented === 'client_secret_basic' ? { 'WWW-Authenticate': `Basic realm="${issuer}", error="invalid_client", error_description="${description}"` } : {};
      throw new PosternError('invalid_client', description, challenge);
    }
    const { secret, previousSecret } = client;
    if (secret && previousSecret && !equalText(credentials.secret, secret) && equalText(credentials.secret, previousSecret)) {
      await presentSecretInstead(ctx, presented, credentials.clientId, secret);
    }
    await next();
  }
}
