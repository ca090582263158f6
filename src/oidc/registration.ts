// Dynamic Client Registration (RFC 7591) and its management (RFC 7592) at each app's
// issuer: `{issuer}/reg`, advertised in discovery as registration_endpoint. Registration
// needs an initial access token the admin minted (POST /admin/apps/{id}/initial-access-tokens),
// unless the app enabled open registration with a policy (open-registration.ts). The engine does the protocol (A22); Postern's part is
// the one policy every token names, which holds a registered client to the same rules as
// one the admin creates (admin/client-input.ts) and to its token's redirect URI hosts, at
// registration and at every update, and the models that keep clients in the app's record
// (client-models.ts).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { findClient, initialAccessTokenHash } from '../apps/clients.ts';
import { newClientId } from '../apps/clients-service.ts';
import { checkClientMetadata } from '../admin/client-input.ts';
import { REGISTRATION_POLICY, type ClientModelDeps } from './client-models.ts';
import { asEngineError, registeringWith, unavailable } from './engine.ts';
import { isOpenRegistration } from './open-registration.ts';

/** The hosts the client's URIs must be on: its token's (or open registration's) policy at registration, the policy kept with the client at an update. */
async function allowedHosts(ctx: KoaContextWithOIDC, deps: ClientModelDeps): Promise<readonly string[] | undefined> {
  const app = await deps.storedApp().catch(unavailable);
  if (!app) return undefined;
  const token = registeringWith();
  // Open registration with its policy turned off meanwhile: no host is allowed (and the write refuses it anyway).
  if (isOpenRegistration(token)) return app.openRegistration?.redirectUriHosts ?? [];
  if (token !== undefined) {
    const hash = initialAccessTokenHash(deps.kek, token);
    return app.initialAccessTokens?.find((t) => t.tokenHash === hash)?.redirectUriHosts;
  }
  const clientId = ctx.oidc.client?.clientId;
  return clientId === undefined ? undefined : findClient(app, clientId)?.redirectUriHosts;
}

export function registrationFeatures(deps: ClientModelDeps) {
  return {
    registration: {
      enabled: true,
      initialAccessToken: true,
      issueRegistrationAccessToken: true,
      idFactory: newClientId,
      policies: {
        async [REGISTRATION_POLICY](ctx: KoaContextWithOIDC, properties: Record<string, unknown>) {
          try {
            checkClientMetadata(properties, await allowedHosts(ctx, deps), deps.rules);
          } catch (err) {
            asEngineError(err);
          }
          // As the default client: auth_time is among the claims of every ID token.
          properties.require_auth_time = true;
          // The engine makes a secret for a registration that names no method before it
          // applies the clients' default method, none (shared-configuration.ts): the
          // answer would hold a secret that is never stored and works nowhere.
          if (properties.token_endpoint_auth_method === undefined) {
            delete properties.client_secret;
            delete properties.client_secret_expires_at;
          }
        },
      },
    },
    // A new registration access token at every update (RFC 7592 §2.2 allows it): one that
    // leaked from an old configuration stops working once the client is updated.
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  };
}
