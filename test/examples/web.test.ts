// examples/web run as a process against a Postern process, driven in Chromium: sign-in,
// a server-side session behind a Secure HttpOnly SameSite cookie with no token in the
// browser, sign-out, sign-out everywhere on two devices; and what an attacker tries:
// forged cookies and forms, a forged or replayed callback.
import { expect } from 'chai';
import type { Browser as Chromium, BrowserContext } from 'playwright-core';
import { launchChromium, signInOnHostedPage, skipWithoutChromium } from '../helpers/chromium.ts';
import { ExampleRig, freePort } from '../helpers/examples.ts';
import { ADMIN_TOKEN, type AppJson } from '../helpers/harness.ts';

const COOKIE = '__Host-session';

describe('examples/web: a server-rendered app (Koa + openid-client)', function () {
  this.timeout(90_000);
  const rig = new ExampleRig();
  let web: string;
  let app: AppJson;
  let chrome: Chromium;
  const callbacks: string[] = [];

  before(async function () {
    skipWithoutChromium(this);
    await rig.start();
    const port = await freePort();
    web = `http://localhost:${port}`;
    app = await rig.h.createApp({
      name: 'Example web app',
      redirect_uris: [`${web}/callback`],
      post_logout_redirect_uris: [`${web}/signed-out`],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    await rig.example('examples/web/server.ts', port, { ISSUER: app.issuer, CLIENT_ID: app.client_id, CLIENT_SECRET: app.client_secret! });
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await rig.stop();
  });

  /** A device (browser context) signed in as `email` through the example's "Sign in" link. */
  async function signedInDevice(email: string): Promise<BrowserContext> {
    const context = await chrome.newContext();
    const page = await context.newPage();
    page.on('request', (req) => {
      if (req.url().startsWith(`${web}/callback?`)) callbacks.push(req.url());
    });
    await page.goto(`${web}/`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.issuer}/**`);
    await signInOnHostedPage(rig.h, page, email, app.name);
    await page.waitForURL(`${web}/`);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    return context;
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies(web)).find((c) => c.name === COOKIE)?.value ?? '';
  /** The example's page for `path` fetched with `cookie` (what a script elsewhere, or curl, could send). */
  const fetchWith = (path: string, cookie: string, init: RequestInit = {}) =>
    fetch(`${web}${path}`, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: `${COOKIE}=${cookie}` } });
  const heading = async (answer: Response) => /<h1>([^<]*)<\/h1>/.exec(await answer.text())?.[1];

  it('signs in and keeps tokens on the server: the browser holds one Secure, HttpOnly, SameSite=Lax session id', async () => {
    const context = await signedInDevice('web@example.com');
    const page = context.pages()[0]!;
    expect(await page.locator('#email').textContent()).to.equal('web@example.com');
    const cookies = await context.cookies(web);
    expect(cookies.map((c) => c.name)).to.deep.equal([COOKIE]);
    expect(cookies[0]).to.include({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(cookies[0]!.value).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.content(), 'no JWT in the page').not.to.match(/eyJ[A-Za-z0-9_-]+\./);
    expect(callbacks.at(-1), 'the code comes back in the URL; tokens never do').to.match(/[?&]code=/).and.not.match(/token/);

    await page.getByRole('link', { name: 'Profile (UserInfo)' }).click();
    expect(await page.locator('#userinfo-email').textContent()).to.equal('web@example.com');
    await context.close();
  });

  it('signs out through Postern (RP-initiated logout): the session ends here and at Postern, and its cookie is worth nothing after', async () => {
    const context = await signedInDevice('web-out@example.com');
    const page = context.pages()[0]!;
    const oldCookie = await sessionCookie(context);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${app.issuer}/**`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${web}/signed-out`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await heading(await fetchWith('/', oldCookie)), 'the old session id, replayed').to.equal('Signed out');
    // Postern's session is over too: signing in again asks for an address.
    await page.goto(`${web}/login`);
    await page.getByLabel('Email address').waitFor();
    await context.close();
  });

  it('signs out everywhere: both devices lose their session and tokens, and Postern records it', async () => {
    const laptop = await signedInDevice('everywhere@example.com');
    const phone = await signedInDevice('everywhere@example.com');
    const page = laptop.pages()[0]!;
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('heading', { name: 'Signed out everywhere' }).waitFor();
    expect(Number(await page.locator('#sessions-ended').textContent())).to.equal(2);

    const phonePage = phone.pages()[0]!;
    await phonePage.goto(`${web}/profile`);
    await phonePage.getByRole('heading', { name: 'Signed out' }).waitFor();
    const audit = await rig.h.admin('GET', `/admin/apps/${app.app_id}/audit?type=signout.everywhere`);
    expect((audit.body as { events: { email: string }[] }).events.map((e) => e.email)).to.deep.equal(['everywhere@example.com']);
    await Promise.all([laptop.close(), phone.close()]);
  });

  it('refuses sign-out forms that did not come from its own page (no or wrong CSRF token), changing nothing', async () => {
    const context = await signedInDevice('csrf@example.com');
    const cookie = await sessionCookie(context);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const body of ['', 'csrf=', 'csrf=forged', `csrf=${cookie}`, 'csrf=a&csrf=b']) {
      for (const path of ['/logout', '/logout-everywhere']) {
        const answer = await fetchWith(path, cookie, { method: 'POST', headers: form, body });
        expect(answer.status, `${path} ${body}`).to.equal(403);
      }
    }
    const json = await fetchWith('/logout-everywhere', cookie, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).to.equal(403);
    expect(await heading(await fetchWith('/', cookie))).to.equal('Signed in');
    await context.close();
  });

  it('ignores forged session cookies and refuses a forged, foreign or replayed callback', async () => {
    for (const forged of ['', 'x', 'A'.repeat(43), '../../etc', '%00']) expect(await heading(await fetchWith('/', forged)), forged).to.equal('Signed out');

    const context = await signedInDevice('callback@example.com');
    const page = context.pages()[0]!;
    const replayed = await page.goto(callbacks.at(-1)!);
    expect(replayed?.status(), 'the callback that signed this browser in, again').to.equal(400);

    // A code and state from someone else's sign-in (login CSRF): this browser started none.
    const stranger = await chrome.newContext();
    const answer = await (await stranger.newPage()).goto(`${web}/callback?code=stolen&state=forged&iss=${encodeURIComponent(app.issuer)}`);
    expect(answer?.status()).to.equal(400);
    expect(await stranger.cookies(web)).to.deep.equal([]);

    // A login this browser did start, completed with a forged state.
    const victim = await chrome.newContext();
    const victimPage = await victim.newPage();
    await victimPage.goto(`${web}/login`);
    await victimPage.waitForURL(`${app.issuer}/**`);
    const forged = await victimPage.goto(`${web}/callback?code=x&state=forged&iss=${encodeURIComponent(app.issuer)}`);
    expect(forged?.status()).to.equal(400);
    await victimPage.goto(`${web}/`);
    await victimPage.getByRole('heading', { name: 'Signed out' }).waitFor();
    await Promise.all([context.close(), stranger.close(), victim.close()]);
  });

  it('starts with one command: given only the admin token, it registers its app and says how to reuse it', async () => {
    const port = await freePort();
    const example = await rig.example('examples/web/server.ts', port, { ADMIN_TOKEN, POSTERN_URL: rig.h.url });
    expect(example.output).to.match(/Registered "Example web app" at Postern/).and.match(/ISSUER=\S+ CLIENT_ID=\S+ CLIENT_SECRET=\S+/);
    const apps = (await rig.h.admin('GET', '/admin/apps')).body as { apps: { redirect_uris: string[] }[] };
    expect(apps.apps.some((a) => a.redirect_uris.includes(`http://localhost:${port}/callback`))).to.equal(true);
  });
});
