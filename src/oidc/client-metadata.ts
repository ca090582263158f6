// The app's own OAuth client (client_id = app id), as oidc-provider client metadata.
import type { ClientMetadata } from 'oidc-provider';
import { clientSecretContext, decryptSecret } from '../keys/encryption.ts';
import { signingOf } from '../apps/client-options.ts';
import type { AppRecord } from '../storage/ports.ts';

/** RFC 8252: custom URI schemes are only valid for native apps. */
export function applicationTypeOf(redirectUris: readonly string[]): 'web' | 'native' {
  return redirectUris.some((uri) => !/^https?:/i.test(uri)) ? 'native' : 'web';
}

export function clientMetadataOf(app: AppRecord, kek: Buffer): ClientMetadata {
  const signing = signingOf(app);
  const metadata: ClientMetadata = {
    client_id: app.id,
    client_name: app.name,
    application_type: applicationTypeOf([...app.redirectUris, ...app.postLogoutRedirectUris]),
    redirect_uris: [...app.redirectUris],
    post_logout_redirect_uris: [...app.postLogoutRedirectUris],
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: signing.idToken,
    ...(signing.userinfo && { userinfo_signed_response_alg: signing.userinfo }),
    ...(signing.introspection && { introspection_signed_response_alg: signing.introspection }),
    // auth_time is among the claims Postern puts in every ID token.
    require_auth_time: true,
  };
  // Checked by the engine too (https only); Postern itself never calls it.
  if (app.initiateLoginUri) metadata.initiate_login_uri = app.initiateLoginUri;
  if (app.encryptedClientSecret) {
    metadata.client_secret = decryptSecret(kek, app.encryptedClientSecret, clientSecretContext(app.id));
  }
  return metadata;
}
