// The admin API's JSON shape of an app. Secrets and private keys are never part of it.
import { openRegistrationView } from './open-registration-input.ts';
import { issuerOf } from '../apps/app-paths.ts';
import { settingsOf } from '../apps/app-settings.ts';
import { requirePkceOf, signingOf } from '../apps/client-options.ts';
import type { AppRecord, StoredKey } from '../storage/ports.ts';
import { activatedAt, statusOf } from '../keys/key-ring.ts';
import { uriWarnings } from './redirect-uris.ts';
import { brandingView } from './branding-input.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** Public facts of a signing key: never the key material (the JWKS has the public half). */
function keyView(key: StoredKey) {
  const status = statusOf(key);
  return {
    kid: key.kid,
    alg: key.alg,
    status,
    created_at: iso(key.createdAt),
    ...(status === 'next' ? {} : { activated_at: iso(activatedAt(key)) }),
    ...(status === 'previous' && key.retireAt !== undefined ? { retire_at: iso(key.retireAt) } : {}),
  };
}

export function appView(app: AppRecord, publicUrl: string) {
  const issuer = issuerOf(publicUrl, app.id);
  // Records stored before an option existed show its default; null: unsigned JSON.
  const signing = signingOf(app);
  return {
    app_id: app.id,
    client_id: app.id,
    issuer,
    discovery_url: `${issuer}/.well-known/openid-configuration`,
    name: app.name,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    // URIs registered before today's rule: they keep working, and each says why it would
    // be refused if it were added now, so the admin can replace it.
    warnings: uriWarnings({ redirect_uris: app.redirectUris, post_logout_redirect_uris: app.postLogoutRedirectUris }),
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    require_pkce: requirePkceOf(app),
    id_token_signed_response_alg: signing.idToken,
    userinfo_signed_response_alg: signing.userinfo ?? null,
    introspection_signed_response_alg: signing.introspection ?? null,
    backchannel_logout_uri: app.backchannelLogoutUri ?? null,
    backchannel_logout_session_required: app.backchannelLogoutSessionRequired ?? false,
    initiate_login_uri: app.initiateLoginUri ?? null,
    ...brandingView(app),
    open_registration: openRegistrationView(app.openRegistration),
    ...settingsOf(app.settings), // records created before a setting existed show its default
    keys: app.keys.map(keyView),
    created_at: new Date(app.createdAt).toISOString(),
    updated_at: new Date(app.updatedAt).toISOString(),
  };
}
