// The hosted login in a real browser: Debian's Chromium driven by playwright-core, with
// JavaScript switched off and a phone-sized screen, as a person on a phone would use it.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser as Chromium } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { linkIn } from '../helpers/smtp-capture.ts';

describe('hosted login in Chromium without JavaScript', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  let chrome: Chromium;

  before(async function () {
    chrome = await launchChromium(this);
    await h.start();
    app = await h.createApp({ name: 'Phone App' });
  });
  after(async () => {
    await chrome?.close();
    await h.stop();
  });

  async function phone() {
    const context = await chrome.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 }, isMobile: true });
    // The app's redirect URI: answer it here instead of running a web server.
    await context.route(`${app.redirect_uris[0]}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'app callback' }));
    return context;
  }

  async function authorizationUrl() {
    const config = await h.client(app);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: app.redirect_uris[0]!,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return { config, verifier, state, url: url.href };
  }

  it('signs in with the email form, the link and its button, then the app redeems the code', async () => {
    const context = await phone();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (msg) => msg.type() === 'error' && violations.push(msg.text()));
    const auth = await authorizationUrl();

    await page.goto(auth.url);
    await expect(await page.title()).to.include('Phone App');
    // Labelled field and a real button: usable with a screen reader and without scripts.
    const since = h.smtp.mails.length;
    await page.getByLabel('Email address').fill('phone@example.com');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();

    const link = linkIn(await h.smtp.next('phone@example.com', since));
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in to Phone App' }).click();
    await page.waitForURL(`${app.redirect_uris[0]}**`);
    const callback = new URL(page.url());
    expect(callback.searchParams.get('iss')).to.equal(app.issuer);

    const tokens = await oidc.authorizationCodeGrant(auth.config, callback, { pkceCodeVerifier: auth.verifier, expectedState: auth.state });
    expect(tokens.claims()?.email).to.equal('phone@example.com');
    expect(violations.filter((v) => v.includes('Content Security Policy'))).to.deep.equal([]);
    await context.close();
  });

  it('does not sign in a second browser that opens the link, and says so', async () => {
    const first = await phone();
    const second = await phone();
    const page = await first.newPage();
    const auth = await authorizationUrl();
    await page.goto(auth.url);
    const since = h.smtp.mails.length;
    await page.getByLabel('Email address').fill('victim@example.com');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    const link = linkIn(await h.smtp.next('victim@example.com', since));

    const other = await second.newPage();
    const response = await other.goto(link);
    expect(response?.status()).to.equal(403);
    await other.getByRole('heading', { name: 'Open this link in the browser where you started' }).waitFor();
    expect(await other.getByRole('button').count()).to.equal(0);

    // The original browser still completes.
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in to Phone App' }).click();
    await page.waitForURL(`${app.redirect_uris[0]}**`);
    await first.close();
    await second.close();
  });
});
