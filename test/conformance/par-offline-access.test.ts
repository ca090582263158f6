// Pushed authorization requests (RFC 9126) with offline_access: the same request gets the
// same tokens whether it is sent by GET /auth or pushed to {issuer}/request first. The
// engine drops offline_access unless the prompt includes consent, and PAR stores the
// request after dropping it; Postern adds the consent prompt to the pushed form as it
// does to the query (src/oidc/offline-access.ts).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Harness } from '../helpers/harness.ts';

describe('conformance: PAR with offline_access', function () {
  this.timeout(30_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const FORM = 'application/x-www-form-urlencoded';

  for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`issues a refresh token to a ${method} client that pushed a request for offline_access, and none without it`, async () => {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      const offline = await h.signIn(app, `par-${method}@example.com`, { scope: 'openid email offline_access', par: true });
      expect(offline.tokens.refresh_token).to.be.a('string');
      expect(offline.tokens.scope?.split(' ')).to.include('offline_access');
      const refreshed = await oidc.refreshTokenGrant(offline.config, offline.tokens.refresh_token!);
      expect(refreshed.claims()?.sub).to.equal(`par-${method}@example.com`);

      const online = await h.signIn(app, `par-${method}@example.com`, { scope: 'openid email', par: true });
      expect(online.tokens.refresh_token).to.equal(undefined);
      expect(online.tokens.scope?.split(' ')).not.to.include('offline_access');
    });
  }

  /** Pushes `form` for the app's public client; the request_uri or the engine's answer. */
  async function push(issuerPath: string, form: string) {
    const res = await fetch(`${h.url}${issuerPath}`, { method: 'POST', headers: { 'content-type': FORM }, body: form });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  it('keeps prompt=none silent: a pushed request for offline_access with prompt=none gets no consent prompt added', async () => {
    const app = await h.createApp();
    const { config, browser, tokens } = await h.signIn(app, 'par-silent@example.com');
    expect(tokens.refresh_token).to.equal(undefined);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: app.redirect_uris[0]!,
      scope: 'openid offline_access',
      prompt: 'none',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await browser.navigate(url.href, {}, app.redirect_uris[0]);
    const silent = await oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: verifier });
    // Signed in silently; offline_access needs consent, which prompt=none cannot give.
    expect(silent.refresh_token).to.equal(undefined);
    expect(silent.scope?.split(' ')).not.to.include('offline_access');
  });

  it('leaves to the engine what it refuses anyway: repeated parameters, another content type', async () => {
    const app = await h.createApp();
    const path = app.issuer.slice(h.url.length);
    const base = `client_id=${app.client_id}&response_type=code&redirect_uri=${encodeURIComponent(app.redirect_uris[0]!)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`;
    const repeated = await push(`${path}/request`, `${base}&scope=openid+offline_access&scope=openid`);
    expect(repeated.status).to.equal(400);
    expect(repeated.body.error).to.equal('invalid_request');
    const json = await fetch(`${app.issuer}/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"scope":"openid offline_access"}' });
    expect(json.status).to.equal(400);
    // The rewrite finds the endpoint however the engine does (letters in any case, a
    // trailing slash), and the scope however the form encodes it.
    for (const [spelling, scope] of [['/REQUEST/', 'openid+offline_access'], ['/request', 'openid%20offline%5Faccess']] as const) {
      const pushed = await push(`${path}${spelling}`, `${base}&scope=${scope}`);
      expect(pushed.status, spelling).to.equal(201);
      const stored = await h.server.registry.get(app.app_id).then((live) => live!.provider.PushedAuthorizationRequest.find(pushed.body.request_uri!.split(':').pop()!));
      const params = JSON.parse(Buffer.from(stored!.request.split('.')[1]!, 'base64url').toString()) as Record<string, string>;
      expect(params.scope, spelling).to.equal('openid offline_access');
      expect(params.prompt, spelling).to.equal('consent');
    }
  });
});
