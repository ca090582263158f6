// prompt=none answers with a code whenever the browser has a session with the app, and
// first-party apps never meet consent (src/oidc/first-party-grant.ts): also after the
// app's grant is gone (its refresh token revoked, a sign-out declined), which silent
// renew in single-page apps depends on. It never grants across accounts or apps, and
// never grants offline_access silently.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { SESSION_TTL } from '../../src/oidc/provider-config.ts';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

describe('conformance: prompt=none with a session, no consent for first-party apps', function () {
  this.timeout(30_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  /**
   * A silent authorization request (prompt=none) in `browser`: the code exchanged for
   * tokens when the app gets one, else the error it got at its redirect URI.
   */
  async function silently(app: AppJson, browser: Browser, scope = 'openid email') {
    const config = await h.client(app);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: app.redirect_uris[0]!,
      scope,
      prompt: 'none',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await browser.navigate(url.href, {}, app.redirect_uris[0]);
    const callback = new URL(page.url);
    if (!page.url.startsWith(app.redirect_uris[0]!) || !callback.searchParams.has('code')) {
      return { error: callback.searchParams.get('error') ?? `no redirect: ${page.status}`, tokens: undefined };
    }
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { error: undefined, tokens };
  }

  it('answers with a code after the app revoked its refresh token (the grant is gone)', async () => {
    const app = await h.createApp();
    const { config, tokens, browser } = await h.signIn(app, 'revoked@example.com', { scope: 'openid email offline_access' });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active, 'the grant went with it').to.equal(false);

    const silent = await silently(app, browser);
    expect(silent.error).to.equal(undefined);
    expect(silent.tokens!.claims()?.sub).to.equal('revoked@example.com');
    expect(silent.tokens!.scope?.split(' ').sort()).to.deep.equal(['email', 'openid']);
    const info = await oidc.fetchUserInfo(config, silent.tokens!.access_token, 'revoked@example.com');
    expect(info.email).to.equal('revoked@example.com');
  });

  it('answers with a code after the person declined to sign out', async () => {
    const app = await h.createApp({ post_logout_redirect_uris: ['http://localhost:8080/bye'] });
    const { config, tokens, browser } = await h.signIn(app, 'stays@example.com');
    const confirm = await browser.navigate(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
    expect(confirm.body).to.include('No, stay signed in');
    await browser.submit(confirm, {}, undefined, 'http://localhost:8080/bye'); // without logout=yes
    const silent = await silently(app, browser);
    expect(silent.error).to.equal(undefined);
    expect(silent.tokens!.claims()?.sub).to.equal('stays@example.com');
  });

  it('grants what each request asks for, no more, and never offline_access silently', async () => {
    const app = await h.createApp();
    const { config, tokens, browser } = await h.signIn(app, 'scopes@example.com', { scope: 'openid' });
    await oidc.tokenRevocation(config, tokens.access_token);
    const narrow = await silently(app, browser, 'openid');
    expect(narrow.tokens!.scope).to.equal('openid');
    const wider = await silently(app, browser, 'openid email');
    expect(wider.tokens!.scope?.split(' ').sort()).to.deep.equal(['email', 'openid']);
    const offline = await silently(app, browser, 'openid offline_access');
    expect(offline.error).to.equal(undefined);
    expect(offline.tokens!.refresh_token).to.equal(undefined);
    expect(offline.tokens!.scope?.split(' ')).not.to.include('offline_access');
    // The same browser asking with a screen gets it: the hosted login is the consent.
    const loud = await h.startLogin(app, browser, { scope: 'openid offline_access' });
    expect(loud.page.url).to.match(/^http:\/\/localhost:8080\/callback\?code=/);
    const withRefresh = await oidc.authorizationCodeGrant(loud.config, new URL(loud.page.url), {
      pkceCodeVerifier: loud.verifier,
      expectedState: loud.state,
      expectedNonce: loud.nonce,
    });
    expect(withRefresh.refresh_token).to.be.a('string');
  });

  it('answers silent requests fired at once after the grant is gone, each with a code that works', async () => {
    const app = await h.createApp();
    const { config, tokens, browser } = await h.signIn(app, 'burst@example.com', { scope: 'openid offline_access' });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    const results = await Promise.all(Array.from({ length: 5 }, () => silently(app, browser)));
    for (const result of results) expect(result.tokens?.claims()?.sub, String(result.error)).to.equal('burst@example.com');
  });

  describe('without a session: login_required', () => {
    it('in a browser that never signed in', async () => {
      const app = await h.createApp();
      expect((await silently(app, new Browser())).error).to.equal('login_required');
    });

    it('once the session has expired', async () => {
      const app = await h.createApp({ refresh_token_max_ttl: 31536000, refresh_token_idle_ttl: 31536000 });
      const { browser } = await h.signIn(app, 'expired@example.com');
      h.clock.travel(SESSION_TTL + 60);
      expect((await silently(app, browser)).error).to.equal('login_required');
    });

    it('after RP-initiated logout', async () => {
      const app = await h.createApp();
      const { config, tokens, browser } = await h.signIn(app, 'logout@example.com');
      const confirm = await browser.navigate(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
      await browser.submit(confirm, { logout: 'yes' });
      expect((await silently(app, browser)).error).to.equal('login_required');
    });

    it('after sign-out everywhere (revoke_all)', async () => {
      const app = await h.createApp();
      const { tokens, browser } = await h.signIn(app, 'everywhere@example.com');
      const res = await fetch(`${app.issuer}/token/revoke_all`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: app.client_id, token: tokens.access_token }),
      });
      expect(res.status).to.equal(200);
      expect((await silently(app, browser)).error).to.equal('login_required');
    });
  });

  it('never turns a session at one app into a grant at another, even with the session cookie copied over', async () => {
    const a = await h.createApp({ name: 'App A' });
    const b = await h.createApp({ name: 'App B' });
    const { browser } = await h.signIn(a, 'two-apps@example.com');
    expect((await silently(b, browser)).error).to.equal('login_required');
    // The cookies of app A, replayed on app B's path.
    const pathB = new URL(b.issuer).pathname;
    const forged = new Browser();
    for (const cookie of browser.cookies) forged.cookies.push({ ...cookie, path: pathB });
    expect((await silently(b, forged)).error).to.equal('login_required');
    // App A still signs in silently.
    expect((await silently(a, browser)).tokens?.claims()?.sub).to.equal('two-apps@example.com');
  });

  it('never uses a grant of another account, even one the session points at', async () => {
    const app = await h.createApp();
    const alice = await h.signIn(app, 'alice@example.com', { scope: 'openid email' });
    const bob = await h.signIn(app, 'bob@example.com', { scope: 'openid email' });
    const { provider } = (await h.server.registry.get(app.app_id))!;
    const sessionOf = async (browser: Browser) => {
      const id = browser.cookies.find((c) => c.name === provider.cookieName('session'))!.value;
      return (await provider.Session.find(id))!;
    };
    // Alice's session made to name Bob's grant for the app's client.
    const bobsGrant = (await sessionOf(bob.browser)).grantIdFor(app.client_id)!;
    const session = await sessionOf(alice.browser);
    session.grantIdFor(app.client_id, bobsGrant);
    await session.save(SESSION_TTL);

    const silent = await silently(app, alice.browser);
    expect(silent.error).to.equal(undefined);
    expect(silent.tokens!.claims()?.sub).to.equal('alice@example.com');
    const grant = await provider.Grant.find(bobsGrant);
    expect(grant?.accountId).to.equal('bob@example.com');
  });
});
