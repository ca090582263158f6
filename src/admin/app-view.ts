// The admin API's JSON shape of an app. Secrets and private keys are never part of it.
import type { AppRecord } from '../storage/ports.ts';

export function appView(app: AppRecord, publicUrl: string) {
  const issuer = `${publicUrl}/apps/${app.id}`;
  return {
    app_id: app.id,
    client_id: app.id,
    issuer,
    discovery_url: `${issuer}/.well-known/openid-configuration`,
    name: app.name,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    ...app.settings,
    keys: app.keys.map((k) => ({ kid: k.kid, alg: k.alg, created_at: new Date(k.createdAt).toISOString() })),
    created_at: new Date(app.createdAt).toISOString(),
    updated_at: new Date(app.updatedAt).toISOString(),
  };
}
