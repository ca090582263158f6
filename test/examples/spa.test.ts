// examples/spa run as a process (its own server) against a Postern process, in Chromium:
// tokens only in the page's memory (never in Web Storage or a URL), a reload restored by a
// silent sign-in, sign-out everywhere from the browser, and the page's Content-Security-
// Policy. The sign-in, silent renew and RP-initiated logout of the same app are covered
// in depth by test/interop/oidc-client-ts.test.ts.
import { expect } from 'chai';
import type { Browser as Chromium } from 'playwright-core';
import { launchChromium, signInOnHostedPage, skipWithoutChromium } from '../helpers/chromium.ts';
import { ExampleRig, freePort } from '../helpers/examples.ts';
import { ADMIN_TOKEN } from '../helpers/harness.ts';

describe('examples/spa: a single-page app (oidc-client-ts)', function () {
  this.timeout(90_000);
  const rig = new ExampleRig();
  let spa: string;
  let issuer: string;
  let chrome: Chromium;

  before(async function () {
    skipWithoutChromium(this);
    await rig.start();
    const port = await freePort();
    spa = `http://localhost:${port}`;
    // One command: the example registers its own (public) app with the admin token.
    const example = await rig.example('examples/spa/server.ts', port, { ADMIN_TOKEN, POSTERN_URL: rig.h.url });
    issuer = /ISSUER=(\S+)/.exec(example.output)![1]!;
    expect(example.output).not.to.include('CLIENT_SECRET', 'a public client has no secret');
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await rig.stop();
  });

  it('keeps tokens in memory only, restores a reload silently, and signs out everywhere', async () => {
    const context = await chrome.newContext();
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (req) => void urls.push(req.url()));
    await page.goto(`${spa}/`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${issuer}/**`);
    await signInOnHostedPage(rig.h, page, 'spa-example@example.com', 'Example single-page app');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(page.url(), 'the code left the address bar').to.equal(`${spa}/`);

    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify(Object.values({ ...sessionStorage })));
    expect(storage, 'no token in Web Storage').not.to.match(/eyJ|access_token|refresh_token/);
    for (const url of urls) expect(url, 'no token in any URL').not.to.match(/[?&#](access_token|id_token|refresh_token)=/);

    await page.reload();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(await page.locator('#email').textContent(), 'restored by a silent sign-in').to.equal('spa-example@example.com');

    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await page.locator('#sessions-ended').textContent()).to.equal('1');
    await page.reload();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await page.locator('#error').textContent()).to.equal('');
    await context.close();
  });

  it('serves its pages with a policy that allows scripts from itself and connections and frames to Postern only', async () => {
    const answer = await fetch(`${spa}/`);
    const csp = answer.headers.get('content-security-policy') ?? '';
    const origin = new URL(issuer).origin;
    expect(csp).to.include("default-src 'none'").and.include("script-src 'self'").and.include(`connect-src 'self' ${origin}`).and.include(`frame-src 'self' ${origin}`);
    expect(answer.headers.get('cache-control')).to.equal('no-store');
    expect(await (await fetch(`${spa}/settings.json`)).json()).to.have.keys('issuer', 'client_id');
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/.env']) expect((await fetch(`${spa}${path}`)).status, path).to.equal(404);
    expect((await fetch(`${spa}/`, { method: 'POST' })).status).to.equal(404);
  });
});
