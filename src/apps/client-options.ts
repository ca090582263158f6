// What an app's own client asks of the engine beyond its URIs and auth method: whether it
// must use PKCE, and how its responses are signed. The defaults (for records stored before
// an option existed too) and the rules between them, read by the admin API, the services
// and the engine's configuration alike.
import { badRequest } from '../errors.ts';
import type { AppRecord, ClientRecord, SigningAlg } from '../storage/ports.ts';

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

/**
 * How the app's responses are signed: ID tokens always, userinfo when set, introspection
 * (when a client asks for a JWT, RFC 9701) as set or else as ID tokens are
 * (signedResponseDefaults).
 */
export function signingOf(app: Partial<ClientOptions>) {
  return {
    idToken: app.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALG,
    // Records in MongoDB may hold null for "unset".
    userinfo: app.userinfoSignedResponseAlg ?? undefined,
    introspection: app.introspectionSignedResponseAlg ?? undefined,
  };
}

/**
 * What a client that names no algorithm for a signed response gets (the engine's client
 * defaults, per app): ID tokens ES512 as ever; introspection responses asked for as a JWT
 * and JARM responses (off here) the app's ID token algorithm, which the app always has a
 * key of, where the engine's own default would be RS256, which most apps have no key of.
 */
export function signedResponseDefaults(appIdTokenAlg: SigningAlg) {
  return {
    id_token_signed_response_alg: DEFAULT_ID_TOKEN_ALG,
    introspection_signed_response_alg: appIdTokenAlg,
    authorization_signed_response_alg: appIdTokenAlg,
  };
}

/** The response metadata a client names its signing algorithms in. */
const SIGNED_RESPONSES = ['id_token_signed_response_alg', 'userinfo_signed_response_alg', 'introspection_signed_response_alg', 'authorization_signed_response_alg'] as const;

/**
 * Every algorithm a further client's responses are signed with: those its metadata names,
 * and the defaults of those it leaves out (userinfo has none: plain JSON). Its logout
 * tokens use its ID token algorithm; the app's JWT access tokens the app's.
 */
export function clientSigningAlgs(metadata: Readonly<Record<string, unknown>>, appIdTokenAlg: SigningAlg): SigningAlg[] {
  const defaults: Record<string, SigningAlg> = signedResponseDefaults(appIdTokenAlg);
  return SIGNED_RESPONSES.flatMap((field) => {
    const named = metadata[field];
    const alg = typeof named === 'string' ? named : defaults[field];
    return alg !== undefined && SIGNING_ALGS.includes(alg as SigningAlg) ? [alg as SigningAlg] : [];
  });
}

/**
 * Every algorithm the app signs with: its own client's responses (whose unset
 * introspection algorithm defaults to its ID token one), its JWT access tokens (the same),
 * and every further client's responses and logout tokens.
 */
export function signingAlgsOf(app: Partial<ClientOptions> & { readonly clients?: readonly ClientRecord[] | undefined }): SigningAlg[] {
  const { idToken, userinfo, introspection } = signingOf(app);
  const further = (app.clients ?? []).flatMap((client) => clientSigningAlgs(client.metadata, idToken));
  return [idToken, userinfo, introspection, ...further].filter((alg): alg is SigningAlg => alg !== undefined);
}

export function checkClientOptions(app: ClientOptions): void {
  if (app.tokenEndpointAuthMethod === 'none' && app.requirePkce === false) {
    throw badRequest('require_pkce cannot be false for a public client (token_endpoint_auth_method none): without a client secret, PKCE is what protects its authorization codes.');
  }
}
