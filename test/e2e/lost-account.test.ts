// A browser's session names an account the store no longer has: accounts in MongoDB restored
// from a backup older than the sessions in Redis, a Redis that evicted keys, an operator's
// hand. The engine would fail such a session's every authorization request (engine.ts,
// A68); Postern asks the person to sign in again, as if there were no session.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { keys } from '../../src/storage/redis/redis-keys.ts';
import { Browser } from '../helpers/browser.ts';
import type { AppJson } from '../helpers/harness.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

for (const storage of ['memory', 'redis'] as const) describe(`a session whose account is no longer stored (${storage})`, function () {
  this.timeout(60_000);
  const { h, redis } = harnessOn(storage);
  let app: AppJson;
  before(async () => {
    app = await h.createApp();
  });

  /** Takes the account out of the store behind Postern's back, as a restore or an eviction would. */
  async function lose(email: string): Promise<void> {
    if (storage === 'redis') {
      const client = new Redis(redis.url);
      try {
        expect(await client.del(keys.account(app.app_id, email))).to.equal(1);
      } finally {
        client.disconnect();
      }
    } else {
      const accounts = h.stores.accounts as unknown as { byApp: Map<string, Map<string, unknown>> };
      expect(accounts.byApp.get(app.app_id)?.delete(email)).to.equal(true);
    }
    expect(await h.stores.accounts.find(app.app_id, email)).to.equal(undefined);
  }

  it('prompt=none gets login_required at the redirect URI, not an error page', async () => {
    const browser = new Browser();
    const email = 'lost-silent@example.com';
    await h.signIn(app, email, { browser });
    await lose(email);
    const { page, redirectUri, state } = await h.startLogin(app, browser, { params: { prompt: 'none' } });
    expect(page.url.startsWith(redirectUri), `${page.status} ${page.body.slice(0, 200)}`).to.equal(true);
    const answer = new URL(page.url).searchParams;
    expect(answer.get('error')).to.equal('login_required');
    expect(answer.get('state')).to.equal(state);
    expect(answer.get('code')).to.equal(null);
  });

  it('the person sees the login page, signs in again by link, and the app gets tokens for the same subject', async () => {
    const browser = new Browser();
    const email = 'lost-again@example.com';
    const first = await h.signIn(app, email, { browser });
    await lose(email);
    const login = await h.startLogin(app, browser);
    expect(login.page.status).to.equal(200);
    expect(login.page.url).to.include('/interaction/');
    expect(login.page.body).to.include('name="email"');
    const { callbackUrl } = await h.confirmSignIn(browser, login.page, email, login.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callbackUrl), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(tokens.claims()?.sub).to.equal(first.tokens.claims()?.sub);
    expect(await h.stores.accounts.find(app.app_id, email)).to.not.equal(undefined);
    // Signed in again: a silent request now succeeds.
    const silent = await h.startLogin(app, browser, { params: { prompt: 'none' } });
    expect(new URL(silent.page.url).searchParams.get('code')).to.be.a('string');
  });

  it('the tokens issued before the loss stop working: userinfo 401, refresh invalid_grant', async () => {
    const email = 'lost-tokens@example.com';
    const { tokens, config } = await h.signIn(app, email, { scope: 'openid email offline_access' });
    expect(tokens.refresh_token).to.be.a('string');
    await lose(email);
    const userinfo = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).to.equal(401);
    const refused = await oidc.refreshTokenGrant(config, tokens.refresh_token!).then(
      () => undefined,
      (err: { error?: string }) => err.error,
    );
    expect(refused).to.equal('invalid_grant');
  });
});
