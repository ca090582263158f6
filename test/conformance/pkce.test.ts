// PKCE per app (RFC 7636): always for public clients (token_endpoint_auth_method none),
// for confidential clients unless the app sets require_pkce to false, which is how the
// OpenID certification plans run static confidential clients. PKCE sent anyway is
// verified, whatever the setting.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

/** The OAuth error of a rejected openid-client call. */
async function oauthError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return (err as { error?: unknown }).error;
  }
  throw new Error('expected a rejection');
}

describe('conformance: require_pkce per app', function () {
  this.timeout(30_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  /** An authorization request without code_challenge: where the browser lands (the app's callback with an error, or the login page). */
  async function withoutPkce(app: AppJson) {
    const login = await h.startLogin(app, new Browser(), { pkce: false });
    return login.page.url.startsWith(app.redirect_uris[0]!) ? new URL(login.page.url).searchParams : undefined;
  }

  it('requires PKCE of every app by default', async () => {
    for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      expect(app.require_pkce, method).to.equal(true);
      const refused = await withoutPkce(app);
      expect(refused?.get('error'), method).to.equal('invalid_request');
      expect(refused?.get('error_description'), method).to.include('PKCE');
    }
  });

  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`lets a ${method} app with require_pkce false sign in without PKCE`, async () => {
      const app = await h.createApp({ token_endpoint_auth_method: method, require_pkce: false });
      expect(app.require_pkce).to.equal(false);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.require_pkce).to.equal(false);
      const { tokens, config } = await h.signIn(app, `nopkce-${method}@example.com`, { pkce: false, scope: 'openid offline_access' });
      expect(tokens.claims()?.sub).to.equal(`nopkce-${method}@example.com`);
      expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');
    });
  }

  it('still verifies PKCE a client sends anyway: the right verifier passes, a wrong or missing one fails', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic', require_pkce: false });
    const right = await h.signIn(app, 'pkce-anyway@example.com');
    expect(right.tokens.claims()?.sub).to.equal('pkce-anyway@example.com');
    for (const verifier of [oidc.randomPKCECodeVerifier(), undefined]) {
      const login = await h.authorize(app, 'pkce-wrong@example.com');
      const error = await oauthError(
        oidc.authorizationCodeGrant(login.config, new URL(login.callbackUrl), { pkceCodeVerifier: verifier, expectedState: login.state, expectedNonce: login.nonce }),
      );
      expect(error, String(verifier)).to.equal('invalid_grant');
    }
    // A verifier for a code issued without a challenge is refused too (nothing to verify it against).
    const plain = await h.authorize(app, 'pkce-extra@example.com', { pkce: false });
    expect(await oauthError(
      oidc.authorizationCodeGrant(plain.config, new URL(plain.callbackUrl), { pkceCodeVerifier: plain.verifier, expectedState: plain.state, expectedNonce: plain.nonce }),
    )).to.equal('invalid_grant');
  });

  it('refuses to turn PKCE off for a public app, at creation and by PATCH (400, saying why)', async () => {
    const created = await h.admin('POST', '/admin/apps', { name: 'Public', redirect_uris: ['http://localhost:8080/callback'], require_pkce: false });
    expect(created.status).to.equal(400);
    expect(created.body.error).to.equal('invalid_request');
    expect(created.body.error_description).to.include('require_pkce').and.include('public client');
    const app = await h.createApp();
    const patched = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { require_pkce: false });
    expect(patched.status).to.equal(400);
    expect(patched.body.error_description).to.include('require_pkce');
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.require_pkce).to.equal(true);
    expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { require_pkce: true })).status).to.equal(200);
    expect((await withoutPkce(app))?.get('error')).to.equal('invalid_request');
  });

  it('applies a PATCH to the next authorization request, both ways', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_post' });
    expect((await withoutPkce(app))?.get('error')).to.equal('invalid_request');
    expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { require_pkce: false })).body.require_pkce).to.equal(false);
    expect(await withoutPkce(app), 'the login page, no error').to.equal(undefined);
    expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { require_pkce: true })).body.require_pkce).to.equal(true);
    expect((await withoutPkce(app))?.get('error')).to.equal('invalid_request');
  });

  it('accepts only true or false', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    for (const value of ['false', 0, null, 'no', [], {}]) {
      const res = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { require_pkce: value });
      expect(res.status, JSON.stringify(value)).to.equal(400);
      expect(res.body.error_description).to.equal('require_pkce must be true or false.');
      const created = await h.admin('POST', '/admin/apps', { name: 'X', redirect_uris: ['http://localhost:8080/callback'], token_endpoint_auth_method: 'client_secret_basic', require_pkce: value });
      expect(created.status, JSON.stringify(value)).to.equal(400);
    }
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.require_pkce).to.equal(true);
  });
});
