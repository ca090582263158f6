// The development mailbox in a real browser (Debian's Chromium, JavaScript on): it updates
// by itself, a sign-in works from the link inside the HTML mail, and hostile mail runs no
// script, sends no request and reaches none of our origin's data, on the mailbox page or
// as its own document.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser as Chromium, BrowserContext } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

/** Mail that tries everything a mail's HTML and text might try in a page. */
const HOSTILE = {
  to: '"><script>window.pwned="to"</script>@example.com',
  subject: '<img src="x" onerror="window.pwned=\'subject\'">',
  text: '<script>window.pwned="text"</script>\njavascript:alert(1)\nhttp://evil.example/phish',
  html: [
    '<script>window.pwned="html";parent.pwned="html";new Image().src="/dev/pwned-script?"+document.cookie</script>',
    '<img src="/dev/pwned-img" onerror="window.pwned=\'onerror\'">',
    '<style>body{background:url(/dev/pwned-css)}</style>',
    '<p id="styled" style="color:rgb(1, 2, 3)">Styled text</p>',
    '<form action="/dev/pwned-form"><input name="q"><button id="go">Go</button></form>',
    '<a id="out" href="javascript:window.pwned=\'href\'">click</a>',
    '<meta http-equiv="refresh" content="0;url=/dev/pwned-refresh">',
  ].join('\n'),
};

describe('development mailbox in Chromium', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  let chrome: Chromium;

  before(async function () {
    skipWithoutChromium(this);
    await h.start({}, { devMailbox: true });
    app = await h.createApp({ name: 'Alpha' });
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await h.stop();
  });

  /** A browser with JavaScript on; the app's redirect URI answered here. */
  async function browser(): Promise<{ context: BrowserContext; requests: string[]; problems: string[] }> {
    const context = await chrome.newContext();
    await context.route(`${app.redirect_uris[0]}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'app callback' }));
    const requests: string[] = [];
    const problems: string[] = [];
    // What left the browser: Chromium reports a request its policy blocked too, as failed.
    context.on('requestfinished', (r) => requests.push(r.url()));
    context.on('page', (page) => {
      page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
      page.on('dialog', (dialog) => {
        problems.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
      });
    });
    return { context, requests, problems };
  }

  async function send(message: typeof HOSTILE): Promise<void> {
    await h.server.mailQueue.enqueue(message, { appId: app.app_id });
    await h.server.mailQueue.idle();
  }

  it('shows new mail without a reload by hand, and its script breaks no policy', async () => {
    const { context, problems } = await browser();
    const page = await context.newPage();
    await page.goto(`${h.url}/dev/mailbox`);
    await send({ to: 'watcher@example.com', subject: 'Arrived while watching', text: 'Hello', html: '<p>Hello</p>' });
    await page.getByRole('heading', { name: 'Arrived while watching' }).waitFor({ timeout: 20_000 });
    expect(problems.filter((p) => p.includes('Content Security Policy'))).to.deep.equal([]);
    await context.close();
  });

  it('signs in from the link inside the HTML mail, opened as its own document', async () => {
    const { context } = await browser();
    const page = await context.newPage();
    const config = await h.client(app);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: app.redirect_uris[0]!,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'dev-mailbox',
    });
    await page.goto(url.href);
    await page.getByLabel('Email address').fill('reader@example.com');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await h.server.mailQueue.idle();

    await page.goto(`${h.url}/dev/mailbox?to=reader%40example.com`);
    await page.getByRole('link', { name: 'View the HTML mail' }).click();
    await page.getByRole('link', { name: 'Sign in to Alpha' }).click();
    await page.getByRole('button', { name: 'Sign in to Alpha' }).click();
    await page.waitForURL(`${app.redirect_uris[0]}**`);
    const callback = new URL(page.url());
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'dev-mailbox' });
    expect(tokens.claims()?.email).to.equal('reader@example.com');
    await context.close();
  });

  it('runs nothing of a hostile mail, on the mailbox page or as its own sandboxed document', async () => {
    await send(HOSTILE);
    const { context, requests, problems } = await browser();
    const page = await context.newPage();
    await page.goto(`${h.url}/dev/mailbox?to=script`);
    await page.waitForLoadState('networkidle');
    expect(await page.evaluate('window.pwned')).to.equal(undefined);
    // The text part is text; only links into Postern itself become buttons.
    expect(await page.getByRole('link', { name: 'Open the sign-in link' }).count()).to.equal(0);
    expect(await page.locator('pre').first().textContent()).to.equal(HOSTILE.text);

    await page.getByRole('link', { name: 'View the HTML mail' }).click();
    await page.waitForLoadState('networkidle');
    expect(new URL(page.url()).pathname).to.match(/^\/dev\/mailbox\/mail\/\d+$/);
    // Its own document, in an opaque origin: no cookie, storage or same-origin request of ours.
    expect(await page.evaluate('self.origin')).to.equal('null');
    expect(await page.evaluate('window.pwned')).to.equal(undefined);
    expect(await page.evaluate("getComputedStyle(document.getElementById('styled')).color")).to.equal('rgb(1, 2, 3)');
    await page.locator('#out').click();
    await page.locator('#go').click();
    await page.waitForLoadState('networkidle');
    expect(await page.evaluate('window.pwned')).to.equal(undefined);
    expect(requests.filter((r) => r.includes('pwned') || r.includes('evil.example'))).to.deep.equal([]);
    // And what reached the server.
    const paths = h.logs.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'request').map((l) => l.path);
    expect(paths).to.include('/dev/mailbox');
    expect(paths.filter((p) => p?.includes('pwned'))).to.deep.equal([]);
    expect(problems.filter((p) => p.startsWith('dialog'))).to.deep.equal([]);
    await context.close();
  });
});
