// The admin API's JSON shape of an app's clients: RFC 7591 metadata by its own names,
// with `default` marking the app's own client. Secrets are never part of it.
import { signingOf } from '../apps/client-options.ts';
import type { AppRecord, ClientRecord, InitialAccessTokenRecord } from '../storage/ports.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** The default client (client_id = app id), as its app says (changed through PATCH /admin/apps/{id}). */
export function defaultClientView(app: AppRecord) {
  const signing = signingOf(app);
  return {
    client_id: app.id,
    default: true,
    origin: 'app' as const,
    client_name: app.name,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: signing.idToken,
    ...(app.backchannelLogoutUri && { backchannel_logout_uri: app.backchannelLogoutUri }),
    ...(app.previousClientSecretExpiresAt !== undefined && { previous_secret_expires_at: iso(app.previousClientSecretExpiresAt) }),
    created_at: iso(app.createdAt),
    updated_at: iso(app.updatedAt),
  };
}

export function clientView(client: ClientRecord) {
  return {
    ...client.metadata,
    client_id: client.clientId,
    default: false,
    origin: client.origin,
    ...(client.redirectUriHosts && { redirect_uri_hosts: client.redirectUriHosts }),
    ...(client.previousSecretExpiresAt !== undefined && { previous_secret_expires_at: iso(client.previousSecretExpiresAt) }),
    created_at: iso(client.createdAt),
    updated_at: iso(client.updatedAt),
  };
}

/** Never the token: only the admin who minted it saw it. */
export function initialAccessTokenView(token: InitialAccessTokenRecord) {
  return {
    id: token.id,
    created_at: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    max_uses: token.maxUses,
    uses: token.uses,
    ...(token.redirectUriHosts && { policy: { redirect_uri_hosts: token.redirectUriHosts } }),
  };
}
