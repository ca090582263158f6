// redirect_uri is REQUIRED at the authorization endpoint (OpenID Connect Core §3.1.2.1)
// and at the token endpoint when it was sent with the authorization request (RFC 6749
// §4.1.3), also for a client that registered a single URI, where the engine would
// otherwise fill it in.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

describe('conformance: redirect_uri is required', function () {
  this.timeout(30_000);
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'One URI App' });
    expect(app.redirect_uris).to.have.length(1);
  });
  after(() => h.stop());

  it('refuses an authorization request without redirect_uri, with a page and no redirect', async () => {
    const query = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${app.issuer}/auth?${query}`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).to.equal(400);
    expect(res.headers.get('location')).to.equal(null);
    expect(await res.text()).to.include('redirect_uri');
  });

  it('refuses a code exchange without redirect_uri, and the code still works with it', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'no-redirect-uri@example.com');
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
    const code = new URL(callback.url).searchParams.get('code')!;
    const res = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: login.verifier, client_id: app.client_id }),
    });
    expect(res.status).to.equal(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).to.equal('invalid_request');
    expect(body.error_description).to.include('redirect_uri');
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(tokens.access_token).to.be.a('string');
  });
});
