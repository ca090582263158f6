// "No, stay signed in" on the logout page changes nothing (src/oidc/decline-sign-out.ts):
// a plain link, never the engine's confirmation, back to the app's post-logout URI with
// its state, or to a page saying the person is still signed in. The grant, the refresh
// token, the session and silent sign-in all survive; "Yes" still signs out.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser, type Page } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { audits } from '../security/support.ts';

const BYE = 'http://localhost:8080/bye';

describe('"No, stay signed in" on the logout page', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Staying App', post_logout_redirect_uris: [BYE] });
  });
  after(() => h.stop());

  /** Signed in (with a refresh token), then on the logout page the app sent the person to. */
  async function onLogoutPage(email: string, opts: { postLogout?: boolean; target?: AppJson } = {}) {
    const target = opts.target ?? app;
    const signedIn = await h.signIn(target, email, { scope: 'openid email offline_access' });
    const query = new URLSearchParams({ id_token_hint: signedIn.tokens.id_token!, state: 'keep-state', ...(opts.postLogout === false ? {} : { post_logout_redirect_uri: BYE }) });
    const page = await signedIn.browser.navigate(`${target.issuer}/session/end?${query}`);
    expect(page.status).to.equal(200);
    return { ...signedIn, page };
  }

  /** The "No" of the page: a link, outside the engine's form. */
  function declineLink(page: Page): string {
    const link = /<a class="button secondary" href="([^"]+)">No, stay signed in<\/a>/.exec(page.body)?.[1];
    expect(link, 'a plain link').to.be.a('string');
    expect(page.body).not.to.match(/<button[^>]*>No, stay signed in/);
    return new URL(link!.replaceAll('&amp;', '&'), page.url).href;
  }

  /** A silent authorization request in the browser: the code, or the error it came back with. */
  async function silently(browser: Browser, target = app) {
    const request = await h.authorizationRequest(target, { params: { prompt: 'none' } });
    const back = await browser.navigate(request.url.href, {}, request.redirectUri);
    const params = new URL(back.url).searchParams;
    return params.get('code') ? 'code' : params.get('error');
  }

  it('goes back to the post-logout URI with the state, and revokes nothing: refresh, access token, session and prompt=none all work', async () => {
    const { browser, page, config, tokens } = await onLogoutPage('stays@example.com');
    expect(declineLink(page)).to.equal(`${app.issuer}/session/end/decline`);
    const back = await browser.navigate(declineLink(page), {}, BYE);
    expect(back.url).to.equal(`${BYE}?state=keep-state`);

    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active, 'access token').to.equal(true);
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token, 'refresh').to.be.a('string');
    expect(await silently(browser), 'prompt=none').to.equal('code');

    await h.server.audit.flushed();
    expect(audits(h).find((e) => e.type === 'signout.declined' && e.email === 'stays@example.com')).to.include({
      outcome: 'success',
      app_id: app.app_id,
      client_id: app.client_id,
    });
  });

  it('keeps an app that asked for no refresh token signed in too: its access token stays active', async () => {
    const signedIn = await h.signIn(app, 'stays-online@example.com');
    const page = await signedIn.browser.navigate(`${app.issuer}/session/end?${new URLSearchParams({ id_token_hint: signedIn.tokens.id_token! })}`);
    const stayed = await signedIn.browser.navigate(declineLink(page));
    expect(stayed.status).to.equal(200);
    expect((await oidc.tokenIntrospection(signedIn.config, signedIn.tokens.access_token)).active).to.equal(true);
    expect(await silently(signedIn.browser)).to.equal('code');
  });

  it('without a post-logout URI, shows that the person is still signed in', async () => {
    const { browser, page, config, tokens } = await onLogoutPage('stays-here@example.com', { postLogout: false });
    const stayed = await browser.navigate(declineLink(page));
    expect(stayed.status).to.equal(200);
    expect(stayed.headers.get('cache-control')).to.equal('no-store');
    expect(stayed.body).to.include('<h1>You are still signed in</h1>');
    expect(stayed.body).to.include('You chose not to sign out of Staying App');
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');
    expect(await silently(browser)).to.equal('code');
  });

  it('"Yes" still signs out: no silent sign-in afterwards', async () => {
    const { browser, page } = await onLogoutPage('leaves@example.com');
    const done = await browser.submit(page, { logout: 'yes' }, undefined, BYE);
    expect(done.url).to.equal(`${BYE}?state=keep-state`);
    expect(await silently(browser)).to.equal('login_required');
  });

  it('does not send the browser to a post-logout URI removed while the page was open: the page instead, audited', async () => {
    const target = await h.createApp({ name: 'Changing App', post_logout_redirect_uris: [BYE] });
    const { browser, page } = await onLogoutPage('stays-changed@example.com', { target });
    expect((await h.admin('PATCH', `/admin/apps/${target.app_id}`, { post_logout_redirect_uris: [] })).status).to.equal(200);
    const stayed = await browser.request(declineLink(page));
    expect(stayed.status).to.equal(200);
    expect(stayed.headers.get('location')).to.equal(null);
    expect(stayed.body).to.include('You are still signed in');
    expect(await silently(browser, target)).to.equal('code');
    await h.server.audit.flushed();
    const rejected = audits(h).find((e) => e.type === 'session.redirect_rejected' && e.app_id === target.app_id);
    expect(rejected).to.include({ outcome: 'failure', client_id: target.client_id, email: 'stays-changed@example.com' });
    expect(String(rejected!.reason)).to.include('post_logout_redirect_uri no longer registered');
  });

  it('changes nothing and records nothing for a browser with no sign-out waiting', async () => {
    const stranger = await new Browser().request(`${app.issuer}/session/end/decline`);
    expect(stranger.status).to.equal(200);
    expect(stranger.body).to.include('<h1>Nothing was changed</h1>');
    expect(stranger.headers.get('location')).to.equal(null);
    // Another app's session cookie is not sent here (cookies are scoped to their app), so
    // another app's pending sign-out is nothing to this one.
    const { browser } = await onLogoutPage('other-app-pending@example.com');
    const other = await h.createApp({ name: 'Unrelated App', post_logout_redirect_uris: [BYE] });
    const elsewhere = await browser.request(`${other.issuer}/session/end/decline`);
    expect(elsewhere.status).to.equal(200);
    expect(elsewhere.headers.get('location')).to.equal(null);
    await h.server.audit.flushed();
    expect(audits(h).filter((e) => e.type === 'signout.declined' && e.app_id === other.app_id)).to.deep.equal([]);
  });
});
