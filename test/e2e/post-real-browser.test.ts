// POST at the authorization and end-session endpoints from another site, in a real
// browser: Debian's Chromium driven by playwright-core. The app's page lives on another
// origin (127.0.0.1, while Postern is at localhost: another site) and submits its form by
// script, as form-posting apps and the certification suite do. Chromium withholds the
// SameSite=Lax session cookie from that cross-site POST and sends it on the GET the 303
// leads to, so signing in, single sign-on and signing out all work, and the cookie stays
// Lax. The logout page is also used without JavaScript.
import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import type { Browser as Chromium, BrowserContext, Page, Request } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { linkIn } from '../helpers/smtp-capture.ts';
import { html } from '../../src/text/html.ts';

/** The page with the app's form, on the app's own site: another site than Postern's (localhost). Answered by the test, never contacted. */
const RP = 'http://127.0.0.1:7';

describe('POST from another site in Chromium', function () {
  this.timeout(90_000);
  const h = new Harness();
  /** Where the app's redirect URIs point: a real server (the browser is sent there by redirects), answering every page. */
  const appServer = createServer((_req, res) => res.end('app'));
  let app: AppJson;
  let callback: string;
  let bye: string;
  let chrome: Chromium;

  before(async function () {
    skipWithoutChromium(this);
    chrome = await launchChromium();
    await h.start();
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    const origin = `http://localhost:${(appServer.address() as AddressInfo).port}`;
    [callback, bye] = [`${origin}/callback`, `${origin}/bye`];
    app = await h.createApp({ name: 'Cross Site App', redirect_uris: [callback], post_logout_redirect_uris: [bye] });
  });
  after(async () => {
    await chrome?.close();
    appServer.closeAllConnections();
    await new Promise((resolve) => appServer.close(resolve));
    await h.stop();
  });

  const browser = (javaScriptEnabled = true) => chrome.newContext({ javaScriptEnabled });

  /** The app's page on its own site: a form to `action` that submits itself. */
  async function postFromApp(page: Page, action: string, fields: Record<string, string>): Promise<void> {
    const inputs = Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
    const body = html`<!doctype html><form method="post" action="${action}">${inputs}</form><script>document.forms[0].submit()</script>`.toString();
    await page.context().route(`${RP}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body }));
    await page.goto(`${RP}/sign-in`);
  }

  /** Signs in on the hosted login page `page` is on; the browser ends at the app's callback. */
  async function signInOnPage(page: Page, email: string): Promise<void> {
    const since = h.smtp.mails.length;
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await page.goto(linkIn(await h.smtp.next(email, since)));
    await page.getByRole('button', { name: 'Sign in to Cross Site App' }).click();
    await page.waitForURL(`${callback}**`);
  }

  /** Requests to Postern's endpoint `path`, with the session cookie each carried. */
  function watch(page: Page, path: string): { method: string; search: string; session: Promise<boolean> }[] {
    const seen: { method: string; search: string; session: Promise<boolean> }[] = [];
    page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.pathname !== `${new URL(app.issuer).pathname}${path}`) return;
      seen.push({ method: request.method(), search: url.search, session: request.allHeaders().then((headers) => /(?:^|;\s*)_session=/.test(headers.cookie ?? '')) });
    });
    return seen;
  }

  type AuthorizationRequest = Awaited<ReturnType<Harness['authorizationRequest']>>;

  /** What the app does with the callback `page` is on: redeems the code. */
  const redeem = (request: AuthorizationRequest, page: Page) =>
    oidc.authorizationCodeGrant(request.config, new URL(page.url()), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });

  /** A browser signed in by an ordinary GET authorization request, on the app's callback. */
  async function signedIn(email: string, options: { javaScriptEnabled?: boolean; scope?: string } = {}) {
    const context = await browser(options.javaScriptEnabled);
    const page = await context.newPage();
    const request = await h.authorizationRequest(app, options.scope ? { scope: options.scope } : {});
    await page.goto(request.url.href);
    await signInOnPage(page, email);
    return { context, page, request, tokens: await redeem(request, page) };
  }

  /** A silent authorization request by GET in `page`: `code`, or the error it came back with. */
  async function silently(page: Page) {
    const request = await h.authorizationRequest(app, { params: { prompt: 'none' } });
    await page.goto(request.url.href);
    await page.waitForURL(`${callback}**`);
    const params = new URL(page.url()).searchParams;
    return params.get('code') ? 'code' : params.get('error');
  }

  async function sessionCookie(context: BrowserContext) {
    const cookie = (await context.cookies(app.issuer)).find((c) => c.name === '_session');
    expect(cookie, 'a session cookie').to.not.equal(undefined);
    return cookie!;
  }

  it('signs in from a cross-site POST to /auth, then signs in silently by another one: the cookie stays Lax and only the GET carries it', async () => {
    const context = await browser();
    const page = await context.newPage();
    const first = await h.authorizationRequest(app);
    await postFromApp(page, `${app.issuer}/auth`, Object.fromEntries(first.url.searchParams));
    await page.getByLabel('Email address').waitFor();
    await signInOnPage(page, 'cross-site@example.com');
    const tokens = await redeem(first, page);
    expect(tokens.claims()?.email).to.equal('cross-site@example.com');

    const cookie = await sessionCookie(context);
    expect([cookie.sameSite, cookie.httpOnly]).to.deep.equal(['Lax', true]);

    // Single sign-on through POST: no login page, straight back with a code.
    const requests = watch(page, '/auth');
    const silent = await h.authorizationRequest(app, { params: { prompt: 'none' } });
    await postFromApp(page, `${app.issuer}/auth`, Object.fromEntries(silent.url.searchParams));
    await page.waitForURL(`${callback}**`);
    const again = await redeem(silent, page);
    expect(again.claims()?.email).to.equal('cross-site@example.com');

    const post = requests.find((r) => r.method === 'POST');
    const get = requests.find((r) => r.method === 'GET');
    expect(await post?.session, 'the cross-site POST carries no session cookie').to.equal(false);
    expect(get?.search).to.match(/^\?posted=[A-Za-z0-9_-]{43}$/);
    expect(await get?.session, 'the GET after the 303 carries it').to.equal(true);
    expect([(await sessionCookie(context)).sameSite]).to.deep.equal(['Lax']);
    await context.close();
  });

  it('signs out from a cross-site POST to /session/end: the logout page, "Yes", the post-logout URI with the state', async () => {
    const { context, page, tokens } = await signedIn('cross-bye@example.com');
    await postFromApp(page, `${app.issuer}/session/end`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: bye, state: 'cross-state' });
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    expect(await page.getByText('Do you want to sign out of Cross Site App?').count()).to.equal(1);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${bye}?state=cross-state`);
    expect((await context.cookies(app.issuer)).find((c) => c.name === '_session')).to.equal(undefined);
    await context.close();
  });

  it('ends nothing by a cross-site POST to the confirmation: no session cookie, no xsrf token', async () => {
    const { context, page } = await signedIn('cross-forged@example.com');
    await postFromApp(page, `${app.issuer}/session/end/confirm`, { logout: 'yes' });
    await page.getByRole('heading').first().waitFor();
    expect(page.url().startsWith(bye)).to.equal(false);
    expect(await silently(page), 'still signed in').to.equal('code');
    await context.close();
  });

  it('works without JavaScript: "No, stay signed in" keeps the session, "Yes" ends it', async () => {
    const { context, page, request, tokens } = await signedIn('no-script@example.com', { javaScriptEnabled: false, scope: 'openid email offline_access' });
    const endSession = oidc.buildEndSessionUrl(request.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: bye, state: 'stay-state' });

    await page.goto(endSession.href);
    await page.getByRole('link', { name: 'No, stay signed in' }).click();
    await page.waitForURL(`${bye}?state=stay-state`);
    expect((await oidc.refreshTokenGrant(request.config, tokens.refresh_token!)).access_token).to.be.a('string');
    expect(await silently(page), 'still signed in').to.equal('code');

    await page.goto(endSession.href);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${bye}?state=stay-state`);
    expect(await silently(page), 'signed out').to.equal('login_required');
    await context.close();
  });
});
