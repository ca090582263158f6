// Interop: a single-page app on oidc-client-ts (its browser build), served on its own
// origin, in real Chromium: sign-in with PKCE, silent renew in a hidden iframe with
// prompt=none, and signoutRedirect to the post_logout_redirect_uri. The test plays the
// person on Postern's hosted pages.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser as Chromium, Page } from 'playwright-core';
import { launchChromium, signInOnHostedPage, skipWithoutChromium } from '../helpers/chromium.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

const LIBRARY = dirname(createRequire(import.meta.url).resolve('oidc-client-ts/package.json'));
const VERSION = (JSON.parse(readFileSync(join(LIBRARY, 'package.json'), 'utf8')) as { version: string }).version;
// The single-page app of examples/spa, served here without its server (which would register its own app).
const SPA = new URL('../../examples/spa/public/', import.meta.url).pathname;

/**
 * The app's own web server, on its own origin (another port of localhost: same site as
 * Postern in the test, as app.example.com and login.example.com are in production, so the
 * browser sends Postern's SameSite=Lax session cookie to the silent-renew iframe).
 */
async function serveSpa(settings: { issuer: string; client_id: string }): Promise<{ origin: string; server: Server }> {
  const page = readFileSync(join(SPA, 'index.html'));
  const files: Record<string, [string, Buffer]> = {
    '/app.js': ['text/javascript', readFileSync(join(SPA, 'app.js'))],
    '/oidc-client-ts.js': ['text/javascript', readFileSync(join(LIBRARY, 'dist/browser/oidc-client-ts.min.js'))],
  };
  for (const path of ['/', '/callback', '/silent', '/signed-out']) files[path] = ['text/html', page];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://spa').pathname;
    if (path === '/settings.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(settings));
      return;
    }
    const file = files[path];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://localhost:${(server.address() as AddressInfo).port}`, server };
}

/** Clicks "Renew silently" and waits until the app shows a renewal or an error; returns the error. */
async function renew(page: Page): Promise<string> {
  const before = await page.locator('#renewals').textContent();
  await page.getByRole('button', { name: 'Renew now' }).click();
  const renewed = page.locator('#renewals').filter({ hasNotText: new RegExp(`^${before}$`) });
  await renewed.or(page.locator('#error').filter({ hasText: /./ })).waitFor();
  return (await page.locator('#error').textContent()) ?? '';
}

describe(`interop: oidc-client-ts ${VERSION} in Chromium`, function () {
  this.timeout(60_000);
  const h = new Harness();
  const settings = { issuer: '', client_id: '' };
  let spa: { origin: string; server: Server };
  let app: AppJson;
  let chrome: Chromium;

  before(async function () {
    skipWithoutChromium(this);
    await h.start();
    spa = await serveSpa(settings);
    app = await h.createApp({
      name: 'Notes SPA',
      redirect_uris: [`${spa.origin}/callback`, `${spa.origin}/silent`],
      post_logout_redirect_uris: [`${spa.origin}/signed-out`],
    });
    Object.assign(settings, { issuer: app.issuer, client_id: app.client_id });
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    spa?.server.closeAllConnections();
    await new Promise((resolve) => (spa ? spa.server.close(resolve) : resolve(undefined)));
    await h.stop();
  });

  it('signs in, renews silently in an iframe with a new ID token, signs out, and cannot renew after', async () => {
    const context = await chrome.newContext();
    const page = await context.newPage();
    const { authorization_endpoint: authorizationEndpoint, userinfo_endpoint: userinfoEndpoint } = (await (
      await fetch(`${app.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    const authorizationRequests: { url: URL; inFrame: boolean }[] = [];
    // The app keeps tokens in memory only; the test reads each ID token off the token endpoint's answers.
    const idTokens: string[] = [];
    page.on('response', async (res) => {
      if (res.url() === `${app.issuer}/token` && res.request().method() === 'POST' && res.ok()) idTokens.push(((await res.json()) as { id_token: string }).id_token);
    });
    const userinfoAnswers: number[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith(`${authorizationEndpoint}?`)) authorizationRequests.push({ url: new URL(req.url()), inFrame: req.frame() !== page.mainFrame() });
    });
    // The library calls userinfo from the app's origin (CORS); a preflight is not the call.
    page.on('response', (res) => {
      if (res.url() === userinfoEndpoint && res.request().method() === 'GET') userinfoAnswers.push(res.status());
    });
    const email = 'spa@example.com';

    await page.goto(`${spa.origin}/`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${app.issuer}/**`);
    await signInOnHostedPage(h, page, email, app.name);
    await page.waitForURL(`${spa.origin}/`);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(await page.locator('#email').textContent()).to.equal(email);
    expect(userinfoAnswers).to.deep.equal([200]);
    // Before it, the page asked once in the iframe whether a session was running (none was).
    const signIn = authorizationRequests.find((r) => !r.inFrame);
    expect(signIn?.inFrame).to.equal(false);
    expect(signIn?.url.searchParams.get('code_challenge_method')).to.equal('S256');

    // oidc-client-ts does not check ID token signatures (it trusts the TLS channel): the test does.
    const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
    const verify = async (token: string) => (await jwtVerify(token, jwks, { issuer: app.issuer, audience: app.client_id, algorithms: ['ES512'] })).payload;
    const first = idTokens.at(-1)!;
    const firstClaims = await verify(first);

    expect(await renew(page)).to.equal('');
    expect(await page.locator('#renewals').textContent()).to.equal('1');
    const silent = authorizationRequests.at(-1)!;
    expect(silent.inFrame, 'renewed in the hidden iframe').to.equal(true);
    expect(silent.url.searchParams.get('prompt')).to.equal('none');
    const renewed = idTokens.at(-1)!;
    expect(renewed).not.to.equal(first);
    const renewedClaims = await verify(renewed);
    expect(renewedClaims).to.include({ sub: email, email, auth_time: firstClaims.auth_time });

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${app.issuer}/**`);
    const endSession = new URL(page.url());
    expect(endSession.searchParams.get('id_token_hint')).to.equal(renewed);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).to.equal(`${spa.origin}/signed-out`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    // oidc-client-ts sends no state with a sign-out that carries no app state.
    await page.waitForURL(`${spa.origin}/signed-out`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await page.locator('#error').textContent()).to.equal('');

    // The session at Postern is over: the iframe comes back with login_required, no tokens.
    expect(await renew(page)).to.equal('login_required');
    expect(await page.locator('#email').textContent()).to.equal('');
    await context.close();
  });

  it('keeps the session when the person answers "No, stay signed in": silent renew still signs in', async () => {
    const context = await chrome.newContext();
    const page = await context.newPage();
    await page.goto(`${spa.origin}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${app.issuer}/**`);
    await signInOnHostedPage(h, page, 'stays@example.com', app.name);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${app.issuer}/**`);
    const confirmation = page.url();
    await page.getByRole('link', { name: 'No, stay signed in' }).click();
    await page.waitForURL((url) => url.href !== confirmation);
    await page.waitForLoadState();
    // Back in the app, wherever Postern showed the answer: the app forgot its tokens (memory)
    // when it left for the sign-out; Postern's session must be intact, so the app's silent
    // sign-in on load finds it, and a renewal after works too.
    await page.goto(`${spa.origin}/`);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(await page.locator('#email').textContent()).to.equal('stays@example.com');
    expect(await renew(page)).to.equal('');
    await context.close();
  });
});
