// One spelling per resource, on every surface besides the admin API (which has its own
// file): Postern's routers (read from the routers themselves), the engine's endpoints
// (read from each app's discovery document), the hosted forms and their CSRF tokens,
// revoke_all and its client authentication, POST at the authorization and end-session
// endpoints (answered by Postern, in the spellings the engine routes there), and
// /dev/mailbox, which never exists in production. A case-changed, encoded or dotted spelling either reaches nothing (404) or,
// inside the engine, which folds case itself, exactly the handler the canonical spelling
// reaches, with host pinning intact.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser, formOn } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { fillPath, otherSpellings, routesOf } from '../helpers/routes.ts';
import { contentTypeOf, expectNoLeak, raw, type RawReply } from './support.ts';

const JSON_ACCEPT = { accept: 'application/json' };

/** Postern's own 404 for a path nothing answers: JSON not_found. */
function expectNotFound(reply: RawReply, label: string) {
  expect(reply.status, `${label} → ${reply.status} ${reply.body.slice(0, 200)}`).to.equal(404);
  expectNoLeak(reply.body, label);
  if (reply.body) expect(JSON.parse(reply.body).error, label).to.equal('not_found');
}

const isGenericNotFound = (reply: RawReply) => reply.status === 404 && contentTypeOf(reply).startsWith('application/json') && /"not_found"/.test(reply.body);

describe('route surface: one spelling per resource', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  let uid: string;

  before(async () => {
    await h.start({}, { adminAuthFailuresPerIp: 1_000_000 });
    app = await h.createApp({ name: 'Surface App' });
    const login = await h.startLogin(app, new Browser());
    uid = /\/interaction\/([^/]+)\/email/.exec(formOn(login.page).action)![1]!;
  });
  after(() => h.stop());

  it('creates every router case-sensitive and strict', () => {
    for (const [name, router] of Object.entries(h.server.routers)) {
      expect(router.opts.sensitive, `${name} router: sensitive`).to.equal(true);
      expect(router.opts.strict, `${name} router: strict`).to.equal(true);
      for (const layer of router.stack) {
        expect(layer.opts.sensitive, `${name} ${String(layer.path)}: sensitive`).to.equal(true);
        expect(layer.opts.strict, `${name} ${String(layer.path)}: strict`).to.equal(true);
      }
    }
  });

  it('routes no other spelling of any route of Postern\'s routers to a handler', async () => {
    let checked = 0;
    for (const name of ['root', 'login', 'revokeAll', 'signOut'] as const) {
      for (const route of routesOf(h.server.routers[name])) {
        const values = { appId: app.app_id, uid };
        const path = fillPath(route.path, values);
        for (const method of route.methods) {
          const canonical = await raw(h.url, path, { method, headers: JSON_ACCEPT });
          expect(isGenericNotFound(canonical), `${method} ${path} reaches its handler`).to.equal(false);
          for (const variant of otherSpellings(route.path, values)) {
            expectNotFound(await raw(h.url, variant, { method, headers: JSON_ACCEPT }), `${method} ${variant}`);
            checked++;
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(80);
  });

  it('reaches the engine only through /apps/{app_id} as issued, and a case change inside it reaches the same endpoint', async () => {
    const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const endpoints = Object.entries(discovery)
      .filter(([key, value]) => (key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string')
      .map(([, value]) => new URL(value as string).pathname);
    endpoints.push(`/apps/${app.app_id}/.well-known/openid-configuration`);
    expect(endpoints.length).to.be.greaterThan(6);
    const prefix = `/apps/${app.app_id}`;
    for (const path of endpoints) {
      const inside = path.slice(prefix.length); // "/token"
      const refused = [
        `/APPS/${app.app_id}${inside}`,
        `/Apps/${app.app_id}${inside}`,
        `/apps/${app.app_id.toUpperCase()}${inside}`,
        `/apps/%${app.app_id.charCodeAt(0).toString(16)}${app.app_id.slice(1)}${inside}`,
        `/apps/${app.app_id}/${inside}`,
        `/apps/${app.app_id}/.${inside}`,
        `/apps/${app.app_id}/x/..${inside}`,
        `/apps/${app.app_id}${inside.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)}`,
        `/apps/${app.app_id}%2F${inside.slice(1)}`,
        `/x/../apps/${app.app_id}${inside}`,
      ];
      for (const method of ['GET', 'POST']) {
        for (const target of refused) expectNotFound(await raw(h.url, target, { method, headers: JSON_ACCEPT }), `${method} ${target}`);
        // The engine folds case itself: a case change inside an app reaches the canonical
        // endpoint's handler (same answer) or, for Postern's own routes there, nothing.
        const canonical = await raw(h.url, path, { method, headers: JSON_ACCEPT });
        const folded = await raw(h.url, `${prefix}${inside.toUpperCase()}`, { method, headers: JSON_ACCEPT });
        const errorOf = (r: RawReply) => (contentTypeOf(r).startsWith('application/json') && r.body ? JSON.parse(r.body).error : undefined);
        if (!isGenericNotFound(folded)) {
          expect([folded.status, errorOf(folded)], `${method} ${prefix}${inside.toUpperCase()}`).to.deep.equal([canonical.status, errorOf(canonical)]);
        }
      }
    }
  });

  it('answers POST at the authorization and end-session endpoints in the spellings the engine routes there, and nowhere else', async () => {
    for (const route of ['/auth', '/session/end']) {
      const template = `/apps/:appId${route}`;
      const body = route === '/auth' ? (await h.authorizationRequest(app)).url.searchParams.toString() : `client_id=${app.client_id}`;
      const post = (target: string) => raw(h.url, target, { method: 'POST', headers: { ...JSON_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body });
      const canonical = await post(fillPath(template, { appId: app.app_id }));
      expect(canonical.status, canonical.body).to.equal(303);
      let answered = 0;
      for (const variant of otherSpellings(template, { appId: app.app_id })) {
        const reply = await post(variant);
        const inside = variant.slice(`/apps/${app.app_id}`.length);
        if (variant.startsWith(`/apps/${app.app_id}/`) && inside.replace(/\/$/, '').toLowerCase() === route) {
          // Letter case or a trailing slash: the engine routes it there, so Postern answers it the same.
          expect(reply.status, variant).to.equal(303);
          expect(String(reply.headers.location).startsWith(`${app.issuer}${route}?posted=`), variant).to.equal(true);
          answered++;
        } else {
          expectNotFound(reply, `POST ${variant}`);
        }
      }
      expect(answered, `${route}: spellings with other letter case or a trailing slash`).to.be.at.least(2);
    }
  });

  it('keeps host pinning on case-changed engine paths', async () => {
    const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example' };
    for (const target of [`/apps/${app.app_id}/.WELL-KNOWN/OPENID-CONFIGURATION`, `http://evil.example/apps/${app.app_id}/.Well-Known/openid-configuration`]) {
      const reply = await raw(h.url, target, { headers: forged });
      expect(reply.status, target).to.equal(200);
      expect(reply.body).not.to.include('evil.example');
      expect(JSON.parse(reply.body).issuer).to.equal(app.issuer);
    }
  });

  it('accepts the sign-in form only at its own action: other spellings send nothing, whatever the cookies and CSRF token', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const form = formOn(login.page);
    const action = new URL(form.action, h.url).pathname;
    const cookie = browser.cookieHeader(`${h.url}${action}`);
    const body = new URLSearchParams({ ...form.fields, email: 'victim@example.com' }).toString();
    const mailsBefore = h.smtp.mails.length;
    const [, appId, formUid] = /^\/apps\/([^/]+)\/interaction\/([^/]+)\/email$/.exec(action)!;
    for (const variant of otherSpellings('/apps/:appId/interaction/:uid/email', { appId: appId!, uid: formUid! })) {
      const reply = await raw(h.url, variant, {
        method: 'POST',
        headers: { ...JSON_ACCEPT, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expectNotFound(reply, `POST ${variant}`);
    }
    await h.server.mailQueue.idle();
    expect(h.smtp.mails.length, 'no mail from any other spelling').to.equal(mailsBefore);
    // The form itself still works.
    const { mail } = await h.requestLink(browser, login.page, 'victim@example.com');
    expect(mail).to.not.equal(undefined);
  });

  it('ends sessions (revoke_all) only at its own path: other spellings revoke nothing', async () => {
    const signedIn = await h.signIn(app, 'revoke-surface@example.com', { scope: 'openid email offline_access' });
    const refreshToken = signedIn.tokens.refresh_token!;
    const path = `/apps/${app.app_id}/token/revoke_all`;
    const body = new URLSearchParams({ token: refreshToken, client_id: app.client_id }).toString();
    for (const variant of otherSpellings('/apps/:appId/token/revoke_all', { appId: app.app_id })) {
      const reply = await raw(h.url, variant, { method: 'POST', headers: { ...JSON_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body });
      expectNotFound(reply, `POST ${variant}`);
    }
    // Still signed in: the refresh token works.
    const refreshed = await oidc.refreshTokenGrant(signedIn.config, refreshToken);
    expect(refreshed.access_token).to.be.a('string');
    const done = await raw(h.url, path, {
      method: 'POST',
      headers: { ...JSON_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshed.refresh_token!, client_id: app.client_id }).toString(),
    });
    expect(done.status, done.body).to.equal(200);
    expect(JSON.parse(done.body).grants_revoked).to.be.greaterThan(0);
  });

  it('refuses revoke_all with another app\'s client, at every spelling', async () => {
    const other = await h.createApp({ name: 'Other App', redirect_uris: [REDIRECT_URI] });
    const signedIn = await h.signIn(app, 'cross-app@example.com', { scope: 'openid email offline_access' });
    const path = `/apps/${app.app_id}/token/revoke_all`;
    const body = new URLSearchParams({ token: signedIn.tokens.refresh_token!, client_id: other.client_id }).toString();
    for (const target of [path, ...otherSpellings('/apps/:appId/token/revoke_all', { appId: app.app_id })]) {
      const reply = await raw(h.url, target, { method: 'POST', headers: { ...JSON_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(reply.status, target).to.be.oneOf([401, 404]);
    }
    expect((await oidc.refreshTokenGrant(signedIn.config, signedIn.tokens.refresh_token!)).access_token).to.be.a('string');
  });

});

describe('route surface: the development mailbox', () => {
  const h = new Harness();
  before(() => h.start({}, { devMailbox: true }));
  after(() => h.stop());

  it('is served at /dev/mailbox only', async () => {
    expect((await raw(h.url, '/dev/mailbox')).status).to.equal(200);
    for (const variant of otherSpellings('/dev/mailbox')) expectNotFound(await raw(h.url, variant, { headers: JSON_ACCEPT }), variant);
  });
});

describe('route surface in production', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const h = new Harness();

  before(async () => {
    await redis.start();
    // The development mailbox wired in by mistake: production must still not serve it.
    await h.start({ NODE_ENV: 'production', PUBLIC_URL: 'https://login.example.test', REDIS_URL: redis.url }, { devMailbox: true });
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('never serves the development pages (/, the mailbox, its state, its mail, their stylesheet), in any spelling', async () => {
    const pages = ['/dev/mailbox', '/dev/mailbox/state', '/dev/mailbox/mail/1', '/dev/assets/dev.css'];
    const targets = [...pages, ...pages.flatMap((p) => otherSpellings(p)), '/DEV/MAILBOX', '/%64ev/mailbox', '/dev/Mailbox/state', '/dev/mailbox/%6dail/1', '/', '//', '/%2F', '/?app=x'];
    for (const target of targets) {
      for (const accept of ['application/json', 'text/html']) {
        const reply = await raw(h.url, target, { headers: { accept } });
        expect(reply.status, `${target} (${accept})`).to.equal(404);
        expect(reply.body, target).not.to.match(/mailbox|development|admin api|<script/i);
        if (accept === 'application/json') expect(JSON.parse(reply.body).error, target).to.equal('not_found');
      }
    }
  });
});
