// Redirect URIs: which ones an app may register (an allowlist: https, http on loopback
// hosts, reverse-domain private-use schemes), what happens to apps that registered others
// before that rule (they keep working and are flagged), and what happens when the admin
// removes a URI while a person is signing in or out (nothing is sent there any more).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { audits, raw } from './support.ts';

const OTHER_URI = 'http://localhost:8080/other-callback';
const BYE = 'http://localhost:8080/bye';
const APP_CHANGED = "This app&#39;s settings changed";

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

    for (const uri of ['https://localhost/cb', 'http://127.42.0.7/cb']) {
      it(`leaves the engine's rules for combinations in place: a native app may not register ${uri}`, async () => {
        const res = await h.admin('POST', '/admin/apps', { name: 'Native', redirect_uris: ['com.example.app:/cb', uri] });
        expect(res.status).to.equal(400);
        expect(res.body.error).to.equal('invalid_redirect_uri');
        expect(res.body.error_description).to.include('redirect_uris');
      });
    }
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

  describe('a redirect URI removed while a sign-in is under way', () => {
    /** Follows redirects inside Postern; stops at the first one that leaves it (to the app). */
    async function follow(browser: Browser, first: Page): Promise<{ last: Page; locations: string[] }> {
      const locations: string[] = [];
      let page = first;
      for (let hop = 0; hop < 10; hop++) {
        const location = page.headers.get('location');
        if (page.status < 300 || page.status >= 400 || !location) break;
        const next = new URL(location, page.url).href;
        locations.push(next);
        if (!next.startsWith(h.url)) break;
        page = await browser.request(next);
      }
      return { last: page, locations };
    }

    /** No redirect left Postern for the app, and none carried a code. */
    function expectNothingSent(locations: string[]) {
      expect(locations.filter((l) => !l.startsWith(h.url)), 'a redirect to the app').to.deep.equal([]);
      expect(locations.filter((l) => /[?&]code=/.test(l)), 'a code').to.deep.equal([]);
    }

    /** Nothing left Postern for the app, and the person sees why. */
    function expectStopped({ last, locations }: { last: Page; locations: string[] }) {
      expectNothingSent(locations);
      expect(last.status, last.body.slice(0, 300)).to.equal(400);
      expect(last.headers.get('location')).to.equal(null);
      expect(last.body).to.include(APP_CHANGED).and.include('sign in again');
    }

    async function expectAudited(app: AppJson, email: string | undefined) {
      await h.server.audit.flushed();
      const event = audits(h).find((e) => e.type === 'authorization.rejected' && e.app_id === app.app_id && String(e.reason).includes('no longer registered'));
      expect(event, 'audit event').to.include({ outcome: 'failure', client_id: app.client_id });
      expect(event!.reason).to.include(REDIRECT_URI);
      if (email) expect(event!.email).to.equal(email);
    }

    /** A sign-in up to "check your email": the browser, the pages and the mail. */
    async function underWay(app: AppJson, email: string) {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const sent = await h.requestLink(browser, login.page, email);
      return { browser, login, ...sent };
    }

    const removeUri = async (app: AppJson) => expect((await patch(app, { redirect_uris: [OTHER_URI] })).status).to.equal(200);

    /** POSTs the confirmation of the link and stops at the engine's resume URL. */
    async function confirm(browser: Browser, link: string): Promise<Page> {
      const form = formOn(await browser.navigate(link), '/link');
      const posted = await browser.request(new URL(form.action, link).href, { form: form.fields });
      expect(posted.status).to.equal(303);
      expect(posted.headers.get('location')).to.match(/\/auth\/[A-Za-z0-9_-]+$/);
      return posted;
    }

    it('finishes as before when the change keeps the URI (the check blocks only what it must)', async () => {
      const app = await h.createApp();
      const { browser, login, link } = await underWay(app, 'kept@example.com');
      expect((await patch(app, { name: 'Renamed Meanwhile', redirect_uris: [REDIRECT_URI, OTHER_URI] })).status).to.equal(200);
      expect(await finish(login, browser, link)).to.equal('kept@example.com');
    });

    it('confirming the link: no redirect, no code, a page that says to start again, audited', async () => {
      const app = await h.createApp();
      const { browser, link } = await underWay(app, 'link-removed@example.com');
      await removeUri(app);
      const resumed = await follow(browser, await confirm(browser, link));
      expectStopped(resumed);
      await expectAudited(app, 'link-removed@example.com');
      // The attempt is over: coming back to the resume URL (a replay) sends nothing either.
      const replay = await follow(browser, await browser.request(resumed.locations[0]!));
      expectNothingSent(replay.locations);
      expect(replay.last.status).to.be.within(400, 499);
    });

    it("a further client's URI removed, or the client deleted, meanwhile: no redirect, no code (the stored client decides)", async () => {
      const app = await h.createApp();
      for (const change of ['uri', 'deleted'] as const) {
        const made = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: [REDIRECT_URI] });
        const client = { ...app, client_id: made.body.client_id as string, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
        const { browser, link } = await underWay(client, `further-${change}@example.com`);
        const path = `/admin/apps/${app.app_id}/clients/${client.client_id}`;
        const changed = change === 'uri' ? await h.admin('PATCH', path, { redirect_uris: [OTHER_URI] }) : await h.admin('DELETE', path);
        expect(changed.status, change).to.be.oneOf([200, 204]);
        expectStopped(await follow(browser, await confirm(browser, link)));
      }
    });

    it('typing the short code: no redirect, no code', async () => {
      const app = await h.createApp();
      const { browser, page, mail } = await underWay(app, 'code-removed@example.com');
      await removeUri(app);
      const code = /instead: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(mail.text)![1]!;
      const form = formOn(page, '/code');
      const typed = await browser.request(new URL(form.action, page.url).href, { form: { ...form.fields, code } });
      expect(typed.status).to.equal(303);
      expectStopped(await follow(browser, typed));
      await expectAudited(app, 'code-removed@example.com');
    });

    it('removed after the sign-in finished but before the browser followed the resume redirect: no code', async () => {
      const app = await h.createApp();
      const { browser, link } = await underWay(app, 'late-removal@example.com');
      const posted = await confirm(browser, link);
      await removeUri(app);
      expectStopped(await follow(browser, posted));
    });

    it('a change this instance was not told about (a lost change notice) is seen when the sign-in finishes', async () => {
      const app = await h.createApp();
      const { browser, link } = await underWay(app, 'missed-notice@example.com');
      // Written straight into the store: the cached Provider still has the URI, as on an
      // instance that missed the change notice and whose cache is not due for revalidation.
      const stored = (await h.stores.apps.get(app.app_id))!;
      expect(await h.stores.apps.replace({ ...stored, redirectUris: [OTHER_URI], updatedAt: stored.updatedAt + 1 }, stored.updatedAt)).to.equal(true);
      expectStopped(await follow(browser, await confirm(browser, link)));
    });

    it('the consent-less grant of a signed-in person: no redirect, no code', async () => {
      const app = await h.createApp();
      const browser = new Browser();
      await h.signIn(app, 'consent@example.com', { browser });
      // offline_access asks for consent (oidc/offline-access.ts): an interaction the hosted login ends by itself.
      const config = await h.client(app);
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const atInteraction = await browser.navigate(url.href, {}, `${app.issuer}/interaction/`);
      expect(atInteraction.url).to.include('/interaction/');
      await removeUri(app);
      const first = await browser.request(atInteraction.url);
      expect(first.status).to.equal(303);
      expectStopped(await follow(browser, first));
    });

    it('a sign-in of an app that was deleted meanwhile does not finish', async () => {
      const app = await h.createApp();
      const { browser, link } = await underWay(app, 'deleted@example.com');
      const posted = await confirm(browser, link);
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
      const { last, locations } = await follow(browser, posted);
      expectNothingSent(locations);
      expect(last.status).to.equal(404);
      // And one deleted before the link is opened.
      const other = await h.createApp();
      const pending = await underWay(other, 'deleted-early@example.com');
      expect((await h.admin('DELETE', `/admin/apps/${other.app_id}`)).status).to.equal(204);
      const page = await pending.browser.navigate(pending.link);
      expect(page.status).to.equal(404);
      expect(page.headers.get('location')).to.equal(null);
    });

    it('no spelling of the resume path, no parallel burst and no other app resumes it with a code', async () => {
      const app = await h.createApp();
      const bystander = await h.createApp();
      const { browser, link } = await underWay(app, 'burst@example.com');
      const posted = await confirm(browser, link);
      await removeUri(app);
      const resumeUrl = new URL(posted.headers.get('location')!, posted.url);
      // The resume cookie is scoped to the resume path; sent by hand, it reaches every spelling.
      const cookie = browser.cookieHeader(resumeUrl.href);
      expect(cookie).to.include('_interaction_resume=');
      const spellings = [
        resumeUrl.pathname,
        resumeUrl.pathname.replace('/auth/', '/AUTH/'),
        `${resumeUrl.pathname}/`,
        resumeUrl.pathname.replace(app.app_id, bystander.app_id),
      ];
      const replies = await Promise.all(
        [...spellings, ...spellings].flatMap((path) => [
          raw(h.url, path, { headers: { cookie, accept: 'text/html' } }),
          raw(h.url, path, { method: 'HEAD', headers: { cookie } }),
        ]),
      );
      for (const reply of replies) {
        expect(String(reply.headers.location ?? ''), reply.body.slice(0, 200)).not.to.include(REDIRECT_URI);
        expect(String(reply.headers.location ?? '')).not.to.match(/[?&]code=/);
      }
    });

    it('a native app keeps its loopback redirect on any port (the engine\'s own test decides)', async () => {
      const app = await h.createApp({ redirect_uris: ['com.example.app:/cb', 'http://127.0.0.1/cb'] });
      const browser = new Browser();
      const port = 'http://127.0.0.1:49152/cb';
      const login = await h.startLogin(app, browser, { redirectUri: port });
      const { link } = await h.requestLink(browser, login.page, 'native@example.com');
      expect(await finish(login, browser, link)).to.equal('native@example.com');
    });
  });

  describe('a post-logout redirect URI removed while the sign-out page is open', () => {
    async function signOutPage(app: AppJson, email: string) {
      const signedIn = await h.signIn(app, email);
      const query = new URLSearchParams({ id_token_hint: signedIn.tokens.id_token!, post_logout_redirect_uri: BYE, state: 'st' });
      const page = await signedIn.browser.navigate(`${app.issuer}/session/end?${query}`);
      expect(page.status).to.equal(200);
      expect(page.body).to.include('op.logoutForm');
      return { ...signedIn, page };
    }

    const sessionCookies = (browser: Browser) => browser.cookies.filter((c) => c.name.startsWith('_session'));

    it('redirects to the URI as before when it is still registered', async () => {
      const app = await h.createApp({ post_logout_redirect_uris: [BYE] });
      const { browser, page } = await signOutPage(app, 'bye-kept@example.com');
      const done = await browser.submit(page, { logout: 'yes' }, undefined, BYE);
      expect(done.url).to.equal(`${BYE}?state=st`);
    });

    for (const [label, fields] of [
      ['signing out', { logout: 'yes' }],
      ['staying signed in', {}],
    ] as const) {
      it(`${label}: the engine does what was asked, the browser stays on Postern's signed-out page, audited`, async () => {
        const app = await h.createApp({ post_logout_redirect_uris: [BYE] });
        const { browser, page } = await signOutPage(app, 'bye-removed@example.com');
        expect(sessionCookies(browser)).not.to.deep.equal([]);
        expect((await patch(app, { post_logout_redirect_uris: [] })).status).to.equal(200);
        const form = formOn(page);
        const done = await browser.request(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } });
        expect(done.status, done.body.slice(0, 300)).to.equal(200);
        expect(done.headers.get('location')).to.equal(null);
        expect(done.body).to.include('You have signed out');
        if (fields.logout) expect(sessionCookies(browser), 'the session cookie is cleared').to.deep.equal([]);
        await h.server.audit.flushed();
        const event = audits(h).find((e) => e.type === 'session.redirect_rejected' && e.app_id === app.app_id);
        expect(event).to.include({ outcome: 'failure', client_id: app.client_id });
        expect(event!.reason).to.include('post_logout_redirect_uri no longer registered');
      });
    }

    for (const spelling of ['/SESSION/END/CONFIRM', '/session/end/confirm/', '/Session/End/Confirm/']) {
      it(`a confirmation posted to ${spelling} (the engine routes it too) does not redirect to the removed URI`, async () => {
        const app = await h.createApp({ post_logout_redirect_uris: [BYE] });
        const { browser, page } = await signOutPage(app, 'bye-spelling@example.com');
        expect((await patch(app, { post_logout_redirect_uris: [] })).status).to.equal(200);
        const form = formOn(page);
        const action = new URL(form.action, page.url).href.replace('/session/end/confirm', spelling);
        const done = await browser.request(action, { form: { ...form.fields, logout: 'yes' } });
        expect(done.status, done.body.slice(0, 300)).to.equal(200);
        expect(done.headers.get('location')).to.equal(null);
        expect(done.body).to.include('You have signed out');
      });
    }
  });
});
