// POST at the authorization and end-session endpoints, as an app and a person use them
// (src/oidc/posted-request.ts): the form goes to Postern, which answers 303 to GET at the
// same endpoint with a single-use handle, and the engine then sees the posted parameters.
// openid-client builds the requests; the Browser follows the 303 as a browser does.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser, type Page } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

const BYE = 'http://localhost:8080/bye';
const HANDLE_ONLY = /^\?posted=[A-Za-z0-9_-]{43}$/;

describe('POST at the authorization and end-session endpoints', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Posting App', post_logout_redirect_uris: [BYE] });
  });
  after(() => h.stop());

  /** An authorization request as openid-client builds it, sent as a form to `path` under the issuer. */
  async function postAuthorization(browser: Browser, params: Record<string, string> = {}, path = '/auth') {
    const request = await h.authorizationRequest(app, { params });
    const posted = await browser.request(`${app.issuer}${path}`, { form: Object.fromEntries(request.url.searchParams) });
    return { ...request, posted, location: posted.headers.get('location') ?? '' };
  }

  /** Follows the 303 like a browser: GET, up to the redirect URI at the latest. */
  const follow = (browser: Browser, location: string, redirectUri: string) => browser.navigate(location, {}, redirectUri);

  async function exchange(auth: Awaited<ReturnType<typeof postAuthorization>>, callback: Page) {
    return oidc.authorizationCodeGrant(auth.config, new URL(callback.url), {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    });
  }

  it('signs in from a posted request: 303 to GET /auth with the handle alone, then the login page, the link and a code', async () => {
    const browser = new Browser();
    const auth = await postAuthorization(browser, { login_hint: 'poster@example.com' });
    expect(auth.posted.status).to.equal(303);
    expect(auth.posted.headers.get('cache-control')).to.equal('no-store');
    const location = new URL(auth.location);
    expect(`${location.origin}${location.pathname}`).to.equal(`${app.issuer}/auth`);
    expect(location.search, 'nothing but the handle in the URL').to.match(HANDLE_ONLY);

    const login = await follow(browser, auth.location, auth.redirectUri);
    expect(login.status).to.equal(200);
    // The engine saw the posted login_hint: it suggests the address in the form.
    expect(login.body).to.include('value="poster@example.com"');
    const { link } = await h.requestLink(browser, login, 'poster@example.com');
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', auth.redirectUri);
    expect(callback.url.startsWith(`${auth.redirectUri}?`)).to.equal(true);
    const tokens = await exchange(auth, callback);
    expect(tokens.claims()?.email).to.equal('poster@example.com');
    expect(h.logs.join('\n')).not.to.include('login_hint');
  });

  it('gives a refresh token for posted offline_access (consent is implied for posted parameters too)', async () => {
    const browser = new Browser();
    const auth = await postAuthorization(browser, { scope: 'openid email offline_access' });
    const login = await follow(browser, auth.location, auth.redirectUri);
    const { link } = await h.requestLink(browser, login, 'offline-poster@example.com');
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', auth.redirectUri);
    const tokens = await exchange(auth, callback);
    expect(tokens.refresh_token).to.be.a('string');
    expect(tokens.scope?.split(' ')).to.include('offline_access');
  });

  it('signs in silently through POST with prompt=none while a session exists, and says login_required without one', async () => {
    const signedIn = await h.signIn(app, 'sso-poster@example.com');
    const auth = await postAuthorization(signedIn.browser, { prompt: 'none' });
    const callback = await follow(signedIn.browser, auth.location, auth.redirectUri);
    expect(callback.url.startsWith(`${auth.redirectUri}?code=`), callback.url).to.equal(true);
    expect((await exchange(auth, callback)).claims()?.email).to.equal('sso-poster@example.com');

    const stranger = new Browser();
    const none = await postAuthorization(stranger, { prompt: 'none' });
    const back = await follow(stranger, none.location, none.redirectUri);
    expect(new URL(back.url).searchParams.get('error')).to.equal('login_required');
  });

  for (const path of ['/AUTH', '/Auth/', '/auth/']) {
    it(`answers POST at ${path} (the engine routes that spelling to /auth) with the canonical endpoint`, async () => {
      const signedIn = await h.signIn(app, 'spelt-poster@example.com');
      const auth = await postAuthorization(signedIn.browser, { prompt: 'none' }, path);
      expect(auth.posted.status).to.equal(303);
      expect(auth.location.startsWith(`${app.issuer}/auth?posted=`)).to.equal(true);
      const callback = await follow(signedIn.browser, auth.location, auth.redirectUri);
      expect(callback.url.startsWith(`${auth.redirectUri}?code=`), callback.url).to.equal(true);
    });
  }

  describe('end session', () => {
    /** Signed in, then the app posts its sign-out request; returns the logout page. */
    async function postedSignOut(email: string, path = '/session/end') {
      const signedIn = await h.signIn(app, email);
      const posted = await signedIn.browser.request(`${app.issuer}${path}`, {
        form: { id_token_hint: signedIn.tokens.id_token!, post_logout_redirect_uri: BYE, state: 'bye-state' },
      });
      expect(posted.status).to.equal(303);
      const location = new URL(posted.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).to.equal(`${app.issuer}/session/end`);
      expect(location.search, 'no id_token_hint in the URL').to.match(HANDLE_ONLY);
      const page = await signedIn.browser.navigate(location.href);
      expect(page.status).to.equal(200);
      expect(page.body).to.include('Do you want to sign out of Posting App?');
      return { ...signedIn, page };
    }

    for (const path of ['/session/end', '/SESSION/END/']) {
      it(`shows the logout page for POST ${path}; "Yes" ends the session at the post-logout URI with the state`, async () => {
        const { browser, page, config, tokens } = await postedSignOut(`bye-poster${path.length}@example.com`, path);
        const done = await browser.submit(page, { logout: 'yes' }, undefined, BYE);
        expect(done.url).to.equal(`${BYE}?state=bye-state`);
        // Signed out: no silent sign-in, and the access token went with the grant.
        const again = await postAuthorization(browser, { prompt: 'none' });
        const back = await follow(browser, again.location, again.redirectUri);
        expect(new URL(back.url).searchParams.get('error')).to.equal('login_required');
        expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
      });
    }
  });
});
