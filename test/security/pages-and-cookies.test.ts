// Pages and cookies: a CSRF token in every form; a strict Content-Security-Policy with
// frame-ancestors 'none' on every HTML page (ours and the engine's); nosniff and
// no-referrer on every response; HSTS and Secure cookies when PUBLIC_URL is https;
// no-store on every authentication page and response; cookies HttpOnly, SameSite and
// scoped to their app; the admin token refused the same way whatever is sent.
import { expect } from 'chai';
import Keygrip from 'keygrip';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { csrfOf, interceptFetch, raw, uidOf, type Recorded } from './support.ts';

const BYE = 'http://localhost:8080/bye';

/** Every kind of request an app, a person and an admin make, so headers can be checked on all of them. */
async function exercise(h: Harness, app: AppJson, publicUrl: string) {
  const base = `${publicUrl}/apps/${app.app_id}`;
  const signedIn = await h.signIn(app, 'headers@example.com', { scope: 'openid email offline_access' });
  const { config, tokens, browser } = signedIn;
  await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  await oidc.tokenIntrospection(config, refreshed.access_token);
  await oidc.tokenRevocation(config, refreshed.access_token);
  await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', client_id: app.client_id }) });
  await fetch(`${base}/me`, { headers: { authorization: 'Bearer nope' } });
  await fetch(`${base}/token/revoke_all`, { method: 'POST', body: new URLSearchParams({ client_id: app.client_id, token: refreshed.refresh_token! }) });
  // The engine's pages: an error page, the logout confirmation, the signed-out page.
  await browser.navigate(`${base}/auth?client_id=nope`);
  const end = await browser.navigate(`${base}/session/end?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(BYE)}`);
  await browser.submit(end, { logout: 'yes' }, undefined, BYE);
  await new Browser().navigate(`${base}/session/end`); // no session: the engine's auto-submitting page
  await new Browser().navigate(`${base}/session/end/success`);
  // Our problem pages: unknown link, other browser, attempt gone, and a CSRF failure.
  const stranger = new Browser();
  await stranger.navigate(`${base}/interaction/${uidOf(signedIn.page.url)}/link?code=nope`);
  await stranger.navigate(signedIn.link.replace(/code=[^&]+/, 'code=x'));
  await stranger.navigate(`${base}/interaction/${uidOf(signedIn.page.url)}`);
  const attempt = await h.startLogin(app, new Browser());
  await new Browser().request(`${base}/interaction/${uidOf(attempt.page.url)}/email`, { form: { email: 'x@example.com', csrf: 'x' } });
  // Errors of our own: 404 page, 414, 413, unknown engine path.
  await fetch(`${publicUrl}/nope`, { headers: { accept: 'text/html' } });
  await fetch(`${base}/nope`, { headers: { accept: 'text/html' } });
  await fetch(`${base}/jwks?${'x'.repeat(9000)}`);
  await fetch(`${base}/token`, { method: 'POST', body: 'a'.repeat(70_000), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  // Public documents and assets.
  await fetch(`${base}/.well-known/openid-configuration`);
  await fetch(`${base}/jwks`);
  await fetch(`${publicUrl}/assets/postern.css`);
  await fetch(`${publicUrl}/healthz`);
  // The admin API, success and failure.
  await h.admin('GET', '/admin/apps');
  await h.admin('GET', `/admin/apps/${app.app_id}`);
  await h.admin('PATCH', `/admin/apps/${app.app_id}`, { name: 'Renamed' });
  await h.admin('GET', '/admin/apps/nope');
  await h.admin('POST', '/admin/apps', '{bad');
  return signedIn;
}

function checkEveryResponse(record: Recorded[], https: boolean) {
  expect(record.length).to.be.greaterThan(30);
  for (const r of record) {
    const label = `${r.method} ${r.url.slice(0, 120)} → ${r.status}`;
    expect(r.headers.get('x-content-type-options'), label).to.equal('nosniff');
    expect(r.headers.get('referrer-policy'), label).to.equal('no-referrer');
    if (https) expect(r.headers.get('strict-transport-security'), label).to.equal('max-age=31536000; includeSubDomains');
    else expect(r.headers.get('strict-transport-security'), label).to.equal(null);
  }
}

/** Parses a CSP header into directive → values. */
function csp(header: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

function checkHtmlPage(r: { headers: Headers; body: string }, label: string) {
  const policy = csp(r.headers.get('content-security-policy'));
  expect(policy.get('default-src'), `${label}: default-src`).to.deep.equal(["'none'"]);
  expect(policy.get('frame-ancestors'), `${label}: frame-ancestors`).to.deep.equal(["'none'"]);
  expect(policy.get('base-uri'), `${label}: base-uri`).to.deep.equal(["'none'"]);
  expect(r.headers.get('content-security-policy'), label).not.to.match(/unsafe-|\*|data:|http:|https:/);
  const scripts = policy.get('script-src') ?? [];
  const inline = [...r.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  if (inline.length) expect(scripts, `${label}: script-src allows exactly its own inline script`).to.have.members(inline);
  else expect(scripts, `${label}: script-src`).to.deep.equal(["'none'"]);
  expect(r.body, `${label}: no script from elsewhere`).not.to.match(/<script[^>]+src=/);
  expect(r.headers.get('x-frame-options'), label).to.equal('DENY');
  expect(r.headers.get('cache-control'), label).to.equal('no-store');
}

/** Responses that carry or create authentication state must not be stored anywhere. */
function isAuthenticationResponse(r: Recorded): boolean {
  const path = new URL(r.url).pathname;
  if (/\/\.well-known\/|\/jwks$|\/assets\//.test(path) || path === '/healthz') return false;
  return path.startsWith('/admin') || path.startsWith('/apps/');
}

describe('pages and cookies', function () {
  this.timeout(60_000);

  describe('over https (PUBLIC_URL https://login.example.test, TLS ended by a proxy)', () => {
    const PUBLIC_URL = 'https://login.example.test';
    const h = new Harness();
    // A public origin is served in production only, which needs a store that survives restarts.
    const redis = new RedisServer();
    const record: Recorded[] = [];
    let restore: () => void;
    let app: AppJson;
    before(async () => {
      await redis.start();
      await h.start({ NODE_ENV: 'production', PUBLIC_URL, REDIS_URL: redis.url });
      // The server listens on h.url; requests for PUBLIC_URL go there, as through the proxy.
      restore = interceptFetch({ record, rewrite: (url) => (url.startsWith(PUBLIC_URL) ? h.url + url.slice(PUBLIC_URL.length) : url) });
      app = await h.createApp({ post_logout_redirect_uris: [BYE] });
      await exercise(h, app, PUBLIC_URL);
    });
    after(async () => {
      restore();
      await h.stop();
      await redis.destroy();
    });

    it('shows a person no engine error text in production, not even folded away for developers', async () => {
      const unregistered = await h.authorizationRequest(app, { redirectUri: 'https://evil.example/cb' });
      const page = await new Browser().request(unregistered.url.href);
      expect(page.status).to.equal(400);
      expect(page.body).to.include('an address it has not registered').and.not.include('<details').and.not.match(/redirect_uri|invalid_/);
    });

    it('signs in with the https issuer', () => {
      expect(app.issuer).to.equal(`${PUBLIC_URL}/apps/${app.app_id}`);
      expect(record.some((r) => r.url.includes('/token') && r.status === 200)).to.equal(true);
    });

    it('sends HSTS, nosniff and no-referrer on every response', () => {
      checkEveryResponse(record, true);
    });

    it('marks every cookie Secure, HttpOnly and SameSite, scoped under the app\'s path', () => {
      const cookies = record.flatMap((r) => r.headers.getSetCookie());
      expect(cookies.length).to.be.greaterThan(5);
      for (const cookie of cookies) {
        const attrs = cookie.split(';').slice(1).map((a) => a.trim().toLowerCase());
        expect(attrs, cookie).to.include('secure');
        expect(attrs, cookie).to.include('httponly');
        expect(attrs.some((a) => a === 'samesite=lax' || a === 'samesite=strict'), cookie).to.equal(true);
        expect(attrs.some((a) => a.startsWith('domain=')), cookie).to.equal(false);
        const path = attrs.find((a) => a.startsWith('path='))?.slice(5);
        expect(path === `/apps/${app.app_id}` || path?.startsWith(`/apps/${app.app_id}/`), cookie).to.equal(true);
      }
    });
  });

  describe('over http', () => {
    const h = new Harness();
    const record: Recorded[] = [];
    let app: AppJson;
    let other: AppJson;
    before(async () => {
      await h.start();
      app = await h.createApp({ post_logout_redirect_uris: [BYE] });
      other = await h.createApp({ name: 'Other App' });
      const restore = interceptFetch({ record });
      try {
        await exercise(h, app, h.url);
      } finally {
        restore();
      }
    });
    after(() => h.stop());

    it('sends nosniff and no-referrer on every response, and no HSTS', () => {
      checkEveryResponse(record, false);
    });

    it('puts a strict CSP, frame-ancestors \'none\', X-Frame-Options and no-store on every HTML page, the engine\'s included', () => {
      const pages = record.filter((r) => r.headers.get('content-type')?.startsWith('text/html'));
      const titles = new Set(pages.map((p) => /<title>([^<]*)</.exec(p.body)?.[1]));
      // Ours (login, check email, confirm, problems, errors) and the engine's (error via renderError,
      // logout, signed out, auto-submit).
      for (const title of ['Sign in – Test App', 'Check your email – Test App', 'Sign out – Test App', 'You are signed out – Test App', 'One moment – Test App', 'This sign-in request cannot continue – Test App']) {
        expect(titles, `page "${title}" seen`).to.include(title);
      }
      expect(pages.length).to.be.greaterThan(12);
      for (const page of pages) checkHtmlPage(page, `${page.method} ${page.url.slice(0, 100)} → ${page.status}`);
    });

    it('lets the engine\'s auto-submitting pages run their one inline script and nothing else', async () => {
      // Logout without a session: the engine submits its confirm form by script.
      const logout = await fetch(`${h.url}/apps/${app.app_id}/session/end`, { headers: { accept: 'text/html' } });
      const body = await logout.text();
      expect(body).to.include('<script>');
      checkHtmlPage({ headers: logout.headers, body }, 'auto-submitting logout');
      // response_mode=form_post for a browser with a session.
      const { browser, config } = await h.signIn(app, 'form-post@example.com');
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        response_mode: 'form_post',
        state: 'form-post-state',
      });
      const page = await browser.navigate(url.href);
      expect(page.body).to.include(`action="${REDIRECT_URI}"`);
      checkHtmlPage(page, 'form_post');
    });

    it('sends Cache-Control: no-store and Pragma: no-cache on every authentication response (pages, redirects, token, userinfo, admin)', () => {
      const auth = record.filter(isAuthenticationResponse);
      for (const kind of ['/token', '/me', '/token/introspection', '/token/revocation', '/token/revoke_all', '/auth', '/interaction/', '/session/end', '/admin/apps']) {
        expect(auth.some((r) => r.url.includes(kind)), `a response from ${kind}`).to.equal(true);
      }
      for (const r of auth) {
        const label = `${r.method} ${r.url.slice(0, 100)} → ${r.status}`;
        expect(r.headers.get('cache-control'), label).to.equal('no-store');
        // RFC 6749 §5.1 (token responses) and HTTP/1.0 caches.
        expect(r.headers.get('pragma'), label).to.equal('no-cache');
      }
    });

    it('sets cookies HttpOnly and SameSite, not Secure over http, each scoped to its app', () => {
      const cookies = record.flatMap((r) => r.headers.getSetCookie());
      for (const cookie of cookies) {
        const attrs = cookie.split(';').slice(1).map((a) => a.trim().toLowerCase());
        expect(attrs, cookie).to.include('httponly');
        expect(attrs.some((a) => a.startsWith('samesite=')), cookie).to.equal(true);
        expect(attrs, cookie).not.to.include('secure');
        expect(attrs.find((a) => a.startsWith('path=')), cookie).to.match(new RegExp(`^path=/apps/${app.app_id}(/|$)`));
      }
    });

    it('never lets one app\'s session sign a browser in to another app', async () => {
      const browser = new Browser();
      await h.signIn(app, 'two-apps@example.com', { browser });
      expect(browser.cookies.some((c) => c.name === '_session')).to.equal(true);
      expect(browser.cookieHeader(`${h.url}/apps/${other.app_id}/auth`)).not.to.match(/_session=/);
      const again = await h.startLogin(app, browser);
      expect(again.page.url.startsWith(REDIRECT_URI), 'the same app: signed in already').to.equal(true);
      const elsewhere = await h.startLogin(other, browser);
      expect(elsewhere.page.status).to.equal(200);
      expect(elsewhere.page.body).to.include('name="email"');
    });

    it('puts a CSRF token in every form, and refuses each POST without the right one', async () => {
      const posts = record
        .filter((r) => r.headers.get('content-type')?.startsWith('text/html'))
        .flatMap((r) => [...r.body.matchAll(/<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/gi)].map((m) => ({ url: r.url, form: m[0] })));
      expect(posts.length).to.be.greaterThan(4);
      for (const { url, form } of posts) {
        const token = /<input type="hidden" name="(csrf|xsrf)" value="([^"]+)"/.exec(form);
        expect(token, `form on ${url}: ${form.slice(0, 200)}`).not.to.equal(null);
        expect(token![2]!.length, url).to.be.greaterThan(20);
      }

      // The email form: no token, and a token from another attempt.
      const browser = new Browser();
      const { page } = await h.startLogin(app, browser);
      const action = `${h.url}/apps/${app.app_id}/interaction/${uidOf(page.url)}/email`;
      const otherAttempt = await h.startLogin(app, browser);
      const sent = h.smtp.mails.length;
      for (const csrf of [undefined, '', 'x'.repeat(43), csrfOf(otherAttempt.page.body, '/email')]) {
        const res = await browser.request(action, { form: { email: 'csrf@example.com', ...(csrf === undefined ? {} : { csrf }) } });
        expect(res.status, `csrf ${csrf}`).to.equal(403);
      }
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.length).to.equal(sent);

      // The link confirmation: refused without the token, and the link still works.
      const { link } = await h.requestLink(browser, page, 'confirm-csrf@example.com');
      const confirm = await browser.navigate(link);
      const code = /name="code" value="([^"]+)"/.exec(confirm.body)![1]!;
      const refused = await browser.request(`${h.url}/apps/${app.app_id}/interaction/${uidOf(page.url)}/link`, { form: { code } });
      expect(refused.status).to.equal(403);
      const done = await browser.submit(confirm, {}, '/link', REDIRECT_URI);
      expect(done.url.startsWith(REDIRECT_URI)).to.equal(true);

      // Two attempts' first pages loaded at the same moment in a fresh browser (two tabs):
      // each keeps its own secret, and both forms post.
      const fresh = new Browser();
      const tabs = await Promise.all([h.startLogin(app, fresh), h.startLogin(app, fresh)]);
      const answers = await Promise.all(tabs.map((tab, i) => fresh.submit(tab.page, { email: `tab-${i}@example.com` }, '/email')));
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200]);
      expect(fresh.cookies.filter((c) => c.name === 'postern_csrf').map((c) => c.path).sort()).to.deep.equal(tabs.map((t) => `/apps/${app.app_id}/interaction/${uidOf(t.page.url)}`).sort());

      // The engine's logout form: a forged confirmation ends nothing.
      const signed = await h.signIn(app, 'logout-csrf@example.com');
      const forged = await signed.browser.request(`${h.url}/apps/${app.app_id}/session/end/confirm`, { form: { logout: 'yes', xsrf: 'forged' } });
      expect(forged.status).to.equal(400);
      const stillIn = await h.startLogin(app, signed.browser);
      expect(stillIn.page.url.startsWith(REDIRECT_URI), 'still signed in').to.equal(true);
    });
  });

  describe('after COOKIE_SECRETS is rotated (a new key put first, the older one kept)', () => {
    const OLDER = 'older-cookie-secret-0123456789abcdef0123456789';
    const h = new Harness();
    before(() => h.start({ COOKIE_SECRETS: `newer-cookie-secret-0123456789abcdef0123456789,${OLDER}` }));
    after(() => h.stop());

    it('keeps a browser signed in whose cookies were signed under the older key, and sets no cookie outside the app\'s path or without SameSite', async () => {
      const app = await h.createApp();
      const browser = new Browser();
      await h.signIn(app, 'rotated@example.com', { browser });
      // Every signature as the older key made it, before the rotation.
      const older = new Keygrip([OLDER]);
      const signatures = browser.cookies.filter((c) => c.name.endsWith('.sig'));
      expect(signatures).not.to.have.length(0);
      for (const sig of signatures) {
        const name = sig.name.slice(0, -'.sig'.length);
        sig.value = older.sign(`${name}=${browser.cookies.find((c) => c.name === name && c.path === sig.path)!.value}`);
      }
      const record: Recorded[] = [];
      const restore = interceptFetch({ record });
      try {
        const again = await h.startLogin(app, browser);
        expect(again.page.url.startsWith(REDIRECT_URI), 'still signed in').to.equal(true);
      } finally {
        restore();
      }
      // The cookies module re-signs a cookie signed under an older key, as a second cookie
      // at Path=/ without SameSite; Postern's keys accept such a signature as it is.
      for (const cookie of record.flatMap((r) => r.headers.getSetCookie())) {
        const attrs = cookie.split(';').slice(1).map((a) => a.trim().toLowerCase());
        expect(attrs.some((a) => a.startsWith('samesite=')), cookie).to.equal(true);
        expect(attrs.find((a) => a.startsWith('path=')), cookie).to.match(new RegExp(`^path=/apps/${app.app_id}(/|$)`));
      }
    });
  });

  describe('the admin token', () => {
    const h = new Harness();
    before(() => h.start());
    after(() => h.stop());

    it('refuses tokens of every length and prefix identically, and accepts only the exact one', async () => {
      const wrong = [
        undefined,
        '',
        'Bearer',
        'Bearer ',
        `Bearer ${ADMIN_TOKEN.slice(0, 1)}`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(1)}`,
        `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
        `Bearer ${'x'.repeat(ADMIN_TOKEN.length)}`,
        `Bearer ${'x'.repeat(4000)}`,
        `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
        `Token ${ADMIN_TOKEN}`,
        `Bearer  ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`,
      ];
      const answers = new Set<string>();
      for (const authorization of wrong) {
        const res = await raw(h.url, '/admin/apps', { headers: authorization === undefined ? {} : { authorization } });
        answers.add(JSON.stringify([res.status, res.body, res.headers['www-authenticate'], res.headers['content-type']]));
      }
      expect([...answers]).to.have.length(1);
      const [status, body, challenge] = JSON.parse([...answers][0]!) as [number, string, string];
      expect(status).to.equal(401);
      expect(JSON.parse(body).error).to.equal('invalid_token');
      expect(challenge).to.equal('Bearer realm="postern-admin"');
      // Not in the query string either.
      expect((await raw(h.url, `/admin/apps?access_token=${ADMIN_TOKEN}`)).status).to.equal(401);
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        expect((await raw(h.url, '/admin/apps', { headers: { authorization: `${scheme} ${ADMIN_TOKEN}` } })).status, scheme).to.equal(200);
      }
    });
  });
});
