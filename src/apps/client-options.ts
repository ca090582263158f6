// What an app's own client asks of the engine beyond its URIs and auth method: whether it
// must use PKCE, and how its responses are signed. The defaults (for records stored before
// an option existed too) and the rules between them, read by the admin API, the services
// and the engine's configuration alike.
import { badRequest } from '../errors.ts';
import type { AppRecord, SigningAlg } from '../storage/ports.ts';

/**
 * Every algorithm an app may sign with: ES512 (P-521, the default for ID tokens), RS256
 * (the one OpenID Connect requires every provider to offer, and the one every relying
 * party library verifies), ES256 (P-256) and EdDSA (Ed25519).
 */
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES512', 'RS256', 'ES256', 'EdDSA'];

export const DEFAULT_ID_TOKEN_ALG: SigningAlg = 'ES512';

type ClientOptions = Pick<
  AppRecord,
  'tokenEndpointAuthMethod' | 'requirePkce' | 'idTokenSignedResponseAlg' | 'userinfoSignedResponseAlg' | 'introspectionSignedResponseAlg'
>;

/**
 * Whether the app's client must send PKCE (S256). A public client always must: without a
 * client secret, PKCE is what ties the code to the client that asked for it. A
 * confidential client must unless the app says otherwise.
 */
export function requirePkceOf(app: ClientOptions): boolean {
  return app.tokenEndpointAuthMethod === 'none' || app.requirePkce !== false;
}

/** How the app's responses are signed: ID tokens always, userinfo and introspection when set. */
export function signingOf(app: Partial<ClientOptions>) {
  return {
    idToken: app.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALG,
    // Records in MongoDB may hold null for "unset".
    userinfo: app.userinfoSignedResponseAlg ?? undefined,
    introspection: app.introspectionSignedResponseAlg ?? undefined,
  };
}

/** Every algorithm the app's responses are signed with. */
export function signingAlgsOf(app: Partial<ClientOptions>): SigningAlg[] {
  const { idToken, userinfo, introspection } = signingOf(app);
  return [idToken, userinfo, introspection].filter((alg): alg is SigningAlg => alg !== undefined);
}

export function checkClientOptions(app: ClientOptions): void {
  if (app.tokenEndpointAuthMethod === 'none' && app.requirePkce === false) {
    throw badRequest('require_pkce cannot be false for a public client (token_endpoint_auth_method none): without a client secret, PKCE is what protects its authorization codes.');
  }
}
