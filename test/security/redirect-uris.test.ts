// Redirect URIs: which ones an app may register (an allowlist: https, http on loopback
// hosts, reverse-domain private-use schemes), and what happens to apps that registered
// others before that rule (they keep working and are flagged).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';


describe('redirect URIs', function () {
  this.timeout(60_000);
  const h = new Harness();
  before(() => h.start({}, { adminAuthFailuresPerIp: 100_000 }));
  after(() => h.stop());

  const patch = (app: AppJson, body: unknown) => h.admin('PATCH', `/admin/apps/${app.app_id}`, body);
  const appCount = async () => ((await h.admin('GET', '/admin/apps')).body.apps as unknown[]).length;

  /** Confirms the link, checks the app received a code at its redirect URI, exchanges it; the subject signed in. */
  async function finish(login: Awaited<ReturnType<Harness['startLogin']>>, browser: Browser, link: string): Promise<string> {
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
    expect(callback.url.startsWith(`${login.redirectUri}?`), callback.body.slice(0, 300)).to.equal(true);
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    return tokens.claims()!.sub;
  }

  function expectRefused(res: { status: number; body: any }, field: string, problem: RegExp) {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.error).to.equal('invalid_redirect_uri');
    expect(res.body.error_description).to.include(field).and.match(problem);
  }

  describe('the allowlist, at POST and PATCH /admin/apps', () => {
    const ACCEPTED = [
      'https://app.example.com/callback',
      'HTTPS://App.Example.com/callback',
      'https://127.0.0.1/callback',
      'http://127.0.0.1:8080/callback',
      'http://127.42.0.7/callback',
      'http://[::1]:5000/callback',
      'http://localhost/callback',
      'http://LOCALHOST:3000/callback',
      'com.example.app:/callback',
      'com.example.app://callback',
      'Com.Example.App:/oauth2redirect/example-provider',
      'io.github.some-user.app:/cb',
    ];
    for (const uri of ACCEPTED) {
      it(`accepts ${uri} in both lists, as written`, async () => {
        const app = await h.createApp({ redirect_uris: [uri], post_logout_redirect_uris: [uri] });
        expect(app.redirect_uris).to.deep.equal([uri]);
        expect(app.post_logout_redirect_uris).to.deep.equal([uri]);
        expect(app.warnings).to.deep.equal([]);
      });
    }

    const SCHEME = /scheme/;
    const HTTPS = /https; http is allowed only for loopback hosts/;
    const REFUSED: [string, RegExp][] = [
      // Operating-system protocol handlers and browser pseudo-schemes.
      ['ms-msdt:id%20PCWDiagnostic', SCHEME],
      ['MS-MSDT:id', SCHEME],
      ['search-ms:query=x', SCHEME],
      ['intent://scan/', SCHEME],
      ['jar:https://app.example.com/x.jar!/', SCHEME],
      ['view-source:https://app.example.com/', SCHEME],
      ['ftp://app.example.com/cb', SCHEME],
      ['wss://app.example.com/cb', SCHEME],
      ['ws://localhost/cb', SCHEME],
      ['myapp:/callback', SCHEME],
      ['javascript:alert(1)', SCHEME],
      ['vbscript:msgbox', SCHEME],
      ['data:text/html,<script>alert(1)</script>', SCHEME],
      ['file:///etc/passwd', SCHEME],
      ['about:blank', SCHEME],
      ['blob:https://app.example.com/0b4e', SCHEME],
      ['urn:ietf:wg:oauth:2.0:oob', SCHEME],
      ['com.example.:/cb', SCHEME],
      ['com..example:/cb', SCHEME],
      ['com.example.app+x:/cb', SCHEME],
      // http off the loopback interface, and names that only look like it.
      ['http://app.example.com/cb', HTTPS],
      ['http://localhost.evil.example/cb', HTTPS],
      ['http://app.localhost/cb', HTTPS],
      ['http://127.0.0.1.nip.io/cb', HTTPS],
      ['http://0.0.0.0/cb', HTTPS],
      ['http://10.0.0.1/cb', HTTPS],
      ['http://[::ffff:127.0.0.1]/cb', HTTPS],
      // Wildcards, fragments, credentials, odd spellings, and what does not parse.
      ['https://*.example.com/cb', /wildcards/],
      ['https://app.example.com/*', /wildcards/],
      ['https://app.example.com/cb#x', /fragment/],
      ['https://user:pw@app.example.com/cb', /credentials/],
      ['com.example.app://user@host/cb', /credentials/],
      ['https:app.example.com/cb', /must start with https:\/\//],
      ['https:/app.example.com/cb', /must start with https:\/\//],
      ['HTTP:localhost/cb', /must start with http:\/\//],
      ['https:///app.example.com/cb', /must start with https:\/\//],
      ['https://app.example.com\\@evil.example/cb', /backslashes/],
      ['%68ttps://app.example.com/cb', /absolute URI/],
      ['/callback', /absolute URI/],
      ['https://app.example.com/cb\n', /spaces, control/],
    ];
    for (const [uri, problem] of REFUSED) {
      it(`refuses ${JSON.stringify(uri)} with a 400 that names the field and why, and stores nothing`, async () => {
        const before = await appCount();
        expectRefused(await h.admin('POST', '/admin/apps', { name: 'Refused', redirect_uris: ['https://app.example.com/ok', uri] }), 'redirect_uris[1]', problem);
        expectRefused(await h.admin('POST', '/admin/apps', { name: 'Refused', redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [uri] }), 'post_logout_redirect_uris[0]', problem);
        expect(await appCount()).to.equal(before);
      });
    }

    it('refuses the same URIs in a PATCH, and leaves the app as it was', async () => {
      const app = await h.createApp();
      const before = await h.admin('GET', `/admin/apps/${app.app_id}`);
      for (const [uri, problem] of REFUSED) {
        expectRefused(await patch(app, { name: 'Changed', redirect_uris: [REDIRECT_URI, uri] }), 'redirect_uris[1]', problem);
        expectRefused(await patch(app, { post_logout_redirect_uris: [uri] }), 'post_logout_redirect_uris[0]', problem);
      }
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body).to.deep.equal(before.body);
    });

    it('refuses a parallel burst of PATCHes that each add a bad URI, and stores none of them', async () => {
      const app = await h.createApp();
      const bad = REFUSED.slice(0, 12).map(([uri]) => uri);
      const replies = await Promise.all(bad.map((uri) => patch(app, { redirect_uris: [uri] })));
      expect(replies.map((r) => r.status)).to.deep.equal(bad.map(() => 400));
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.redirect_uris).to.deep.equal([REDIRECT_URI]);
    });

    it('leaves the combination rules of the engine in place: a native app may not use https on a loopback host', async () => {
      const res = await h.admin('POST', '/admin/apps', { name: 'Native', redirect_uris: ['com.example.app:/cb', 'https://localhost/cb'] });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_redirect_uri');
      expect(res.body.error_description).to.include('redirect_uris');
    });
  });

  describe('apps registered before the allowlist', () => {
    const LEGACY_REDIRECT = 'myapp:/callback';
    const LEGACY_LOGOUT = 'search-ms:query=bye';

    /** An app whose stored record holds URIs the allowlist refuses, written straight into the store. */
    async function legacyApp(): Promise<AppJson> {
      const app = await h.createApp({ name: 'Legacy App' });
      const stored = (await h.stores.apps.get(app.app_id))!;
      const legacy = { ...stored, redirectUris: [REDIRECT_URI, LEGACY_REDIRECT], postLogoutRedirectUris: [LEGACY_LOGOUT], updatedAt: stored.updatedAt + 1 };
      expect(await h.stores.apps.replace(legacy, stored.updatedAt)).to.equal(true);
      h.server.registry.invalidate(app.app_id);
      return { ...app, redirect_uris: [...legacy.redirectUris] };
    }

    const WARNINGS = [
      { field: 'redirect_uris[1]', uri: LEGACY_REDIRECT },
      { field: 'post_logout_redirect_uris[0]', uri: LEGACY_LOGOUT },
    ];

    function expectFlagged(view: any) {
      expect(view.warnings.map(({ field, uri }: any) => ({ field, uri }))).to.deep.equal(WARNINGS);
      expect(view.warnings[0].problem).to.match(/must not use the myapp: scheme/);
      expect(view.warnings[1].problem).to.match(/must not use the search-ms: scheme/);
    }

    it('flags each refused URI and why, in GET /admin/apps/{id} and in the list', async () => {
      const app = await legacyApp();
      const got = await h.admin('GET', `/admin/apps/${app.app_id}`);
      expect(got.status).to.equal(200);
      expect(got.body.redirect_uris).to.deep.equal([REDIRECT_URI, LEGACY_REDIRECT]);
      expectFlagged(got.body);
      const listed = (await h.admin('GET', '/admin/apps')).body.apps.find((a: AppJson) => a.app_id === app.app_id);
      expectFlagged(listed);
    });

    it('still signs a person in with the refused URI', async () => {
      const app = await legacyApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser, { redirectUri: LEGACY_REDIRECT });
      const { link } = await h.requestLink(browser, login.page, 'legacy@example.com');
      expect(await finish(login, browser, link)).to.equal('legacy@example.com');
    });

    it('lets the admin change other fields, and keep or drop the refused URIs, but not add new ones', async () => {
      const app = await legacyApp();
      const renamed = await patch(app, { name: 'Legacy Renamed', id_token_ttl: 900 });
      expect(renamed.status, JSON.stringify(renamed.body)).to.equal(200);
      expect(renamed.body).to.include({ name: 'Legacy Renamed', id_token_ttl: 900 });
      expectFlagged(renamed.body);

      const kept = await patch(app, { redirect_uris: [LEGACY_REDIRECT, REDIRECT_URI, 'https://new.example.com/cb'], post_logout_redirect_uris: [LEGACY_LOGOUT] });
      expect(kept.status, JSON.stringify(kept.body)).to.equal(200);
      expect(kept.body.redirect_uris).to.deep.equal([LEGACY_REDIRECT, REDIRECT_URI, 'https://new.example.com/cb']);

      // Added, not kept: a new bad URI, a legacy URI moved to the other list, a changed spelling.
      expectRefused(await patch(app, { redirect_uris: [LEGACY_REDIRECT, 'otherapp:/cb'] }), 'redirect_uris[1]', /otherapp: scheme/);
      expectRefused(await patch(app, { post_logout_redirect_uris: [LEGACY_REDIRECT] }), 'post_logout_redirect_uris[0]', /myapp: scheme/);
      expectRefused(await patch(app, { redirect_uris: ['MyApp:/callback'] }), 'redirect_uris[0]', /myapp: scheme/);

      const dropped = await patch(app, { redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [] });
      expect(dropped.status).to.equal(200);
      expect(dropped.body.warnings).to.deep.equal([]);
      expectRefused(await patch(app, { redirect_uris: [REDIRECT_URI, LEGACY_REDIRECT] }), 'redirect_uris[1]', /myapp: scheme/);
    });
  });
});
