// Interop: a Node app on openid-client, from discovery alone, signs a person in, refreshes
// and signs out, as a public app and as a confidential one, with Postern's default ES512
// ID tokens. The app also checks the ID tokens' signatures (openid-client leaves that off
// for tokens from the token endpoint unless asked: enableNonRepudiationChecks).
import * as oidc from 'openid-client';
import { Harness } from '../helpers/harness.ts';
import { appFields, CLIENT_KINDS, rpSettings, signInRefreshSignOut, type RelyingParty } from './relying-party.ts';

/** The app: nothing but openid-client's documented API and what the operator handed over. */
async function openidClientApp(settings: ReturnType<typeof rpSettings>): Promise<RelyingParty> {
  const auth = settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None();
  // allowInsecureRequests: the test server speaks http on localhost.
  const config = await oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks],
  });
  let pending = { verifier: '', state: '', nonce: '' };
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  let logoutState = '';

  return {
    async authorize() {
      pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      }).href;
    },
    async callback(url) {
      tokens = await oidc.authorizationCodeGrant(config, new URL(url), {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      return { idToken: tokens.id_token!, claims, userinfo };
    },
    async refresh() {
      tokens = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      return { idToken: tokens.id_token!, claims: tokens.claims()! };
    },
    async logout() {
      logoutState = oidc.randomState();
      return oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: settings.postLogoutRedirectUri,
        state: logoutState,
      }).href;
    },
    async loggedOut(url) {
      if (new URL(url).searchParams.get('state') !== logoutState) throw new Error(`unexpected post-logout redirect: ${url}`);
    },
    async close() {},
  };
}

describe('interop: openid-client', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  for (const [kind, fields] of CLIENT_KINDS) {
    it(`signs in, refreshes and signs out: ${kind}, ES512`, async () => {
      const app = await h.createApp(appFields(`openid-client ${kind}`, fields));
      await signInRefreshSignOut(h, app, await openidClientApp(rpSettings(app)), { email: 'node@example.com', alg: 'ES512' });
    });
  }
});
