// The part of the oidc-provider configuration that is the same for every Provider Postern
// builds: each app's (provider-config.ts adds what comes from the app record) and the one
// that validates client metadata before an app is stored (engine.ts). What a client may
// register (auth methods, algorithms, response and grant types, logout URIs) is decided
// here once, so validation and the live Provider can never disagree; only the default
// algorithm of a signed response a client names none for is the app's own (provider-config.ts).
import type { Configuration } from 'oidc-provider';
import { DEFAULT_ID_TOKEN_ALG, SIGNING_ALGS, signedResponseDefaults } from '../apps/client-options.ts';
import type { SigningAlg } from '../storage/ports.ts';
import { loadFirstPartyGrant } from './first-party-grant.ts';
import { BACKCHANNEL_CLIENT_METADATA } from './engine.ts';

/**
 * How clients authenticate, at the token endpoint and at every other endpoint that
 * authenticates clients (revocation, introspection, PAR): each client with the one method
 * it is registered for, at all of them (client-auth-method.ts).
 */
export const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/**
 * The algorithms the engine may sign with (ID tokens, userinfo and introspection
 * responses): every one of `algs`. The validator and every app's Provider allow every
 * algorithm an app may choose (SIGNING_ALGS), so discovery lists them all (OpenID Connect
 * Discovery requires RS256 among them) and a client may register any: the write that
 * stores a client adds the keys of its algorithms before its Provider is rebuilt
 * (key-ring.ts), and the JWKS publishes only keys the app holds, each of which signs.
 */
export function signingAlgorithms(algs: readonly SigningAlg[]) {
  return {
    idTokenSigningAlgValues: [...algs],
    userinfoSigningAlgValues: [...algs],
    introspectionSigningAlgValues: [...algs],
    authorizationSigningAlgValues: [...algs],
    requestObjectSigningAlgValues: [...algs],
  };
}

/**
 * The engine's routes (documented `routes`), spelt out because Postern recognises requests
 * to them before the engine runs (engine.ts, A17): revoke_all is answered at the
 * introspection endpoint, load shedding knows the token endpoint, authorization
 * parameters are rewritten for offline_access, the registered client authentication
 * method is enforced, the sign-out confirmation is checked, and POST at the authorization
 * and end-session endpoints is answered by Postern (posted-request.ts).
 */
export const AUTHORIZATION_PATH = '/auth';
export const PAR_PATH = '/request';
export const TOKEN_PATH = '/token';
export const REVOCATION_PATH = '/token/revocation';
export const INTROSPECTION_PATH = '/token/introspection';
export const END_SESSION_PATH = '/session/end';
/** Dynamic Client Registration (RFC 7591) and, under it, each client's configuration endpoint (RFC 7592). */
export const REGISTRATION_PATH = '/reg';

export function sharedConfiguration() {
  return {
    // `sub`, `email` and `email_verified` belong to every ID token, so they sit under
    // `openid`; jti/token_use/nbf/at_hash/sid are only produced for ID tokens (find-account.ts).
    claims: {
      openid: ['sub', 'email', 'email_verified', 'jti', 'token_use', 'nbf', 'at_hash', 'sid'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'email', 'offline_access'],
    conformIdTokenClaims: false,

    responseTypes: ['code'],
    // OpenID Connect Core §3.1.2.1 and RFC 6749 §4.1.3 require redirect_uri at the
    // authorization and token endpoints, also for a client with one registered URI.
    allowOmittingSingleRegisteredRedirectUri: false,
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      // Every ID token says when the person signed in (docs/integrating.md), whoever made
      // the client: the default one, the admin API or registration.
      require_auth_time: true,
      // Each app's Provider gives its own ID token algorithm here (provider-config.ts).
      ...signedResponseDefaults(DEFAULT_ID_TOKEN_ALG),
    },
    // Kept in a registered client's metadata for Postern's own back-channel logout (engine.ts, A39).
    extraClientMetadata: { properties: [...BACKCHANNEL_CLIENT_METADATA] },
    enabledJWA: signingAlgorithms(SIGNING_ALGS),
    routes: {
      authorization: AUTHORIZATION_PATH,
      pushed_authorization_request: PAR_PATH,
      token: TOKEN_PATH,
      revocation: REVOCATION_PATH,
      introspection: INTROSPECTION_PATH,
      end_session: END_SESSION_PATH,
      registration: REGISTRATION_PATH,
    },

    features: {
      devInteractions: { enabled: false },
      // A client may only introspect or revoke tokens issued to itself (revoke_all relies
      // on the introspection policy: see revoke-all.ts).
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      // Signed userinfo (userinfo_signed_response_alg) and signed introspection responses
      // (RFC 9701, introspection_signed_response_alg) for apps that set them; without
      // them, plain JSON as before.
      jwtUserinfo: { enabled: true },
      jwtIntrospection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },

    // Browser apps (public clients) may call the token, userinfo, revocation and
    // introspection (so revoke_all) endpoints from the origins of their own redirect URIs,
    // and from nowhere else.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },

    // No consent screen for the apps' own clients (first-party-grant.ts).
    loadExistingGrant: loadFirstPartyGrant,

    rotateRefreshToken: true,
  } satisfies Configuration;
}
