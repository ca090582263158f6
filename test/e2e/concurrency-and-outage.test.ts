// Races that real clients produce, on every store: one authorization code redeemed 20
// times at once, one refresh token sent 20 times at once (tabs, retrying clients), the
// email form posted several times at once (a double click).
// Then Redis going away and coming back under a running server.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser, formOn } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { linkIn } from '../helpers/smtp-capture.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

async function settle<T>(calls: Promise<T>[]) {
  const results = await Promise.allSettled(calls);
  const ok: T[] = [];
  const errors: { error?: string }[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else errors.push(r.reason as { error?: string });
  }
  return { ok, errors };
}

for (const storage of ['memory', 'redis'] as const) {
  describe(`concurrent use of one code or token (${storage})`, function () {
    this.timeout(30_000);
    const { h } = harnessOn(storage);
    let app: AppJson;

    before(async () => {
      app = await h.createApp();
    });

    it('redeems an authorization code once among 20 parallel exchanges, and revokes what that got', async () => {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { link } = await h.requestLink(browser, login.page, 'race-code@example.com');
      const callback = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
      const { ok, errors } = await settle(
        Array.from({ length: 20 }, () =>
          oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
            pkceCodeVerifier: login.verifier,
            expectedState: login.state,
            expectedNonce: login.nonce,
          }),
        ),
      );
      expect(ok).to.have.length(1);
      expect(errors).to.have.length(19);
      for (const err of errors) expect(err.error).to.equal('invalid_grant');
      // Every other use was a second use: what the winner got is revoked (RFC 6749 §4.1.2).
      expect((await oidc.tokenIntrospection(login.config, ok[0]!.access_token)).active).to.equal(false);
    });

    it('lets 20 parallel refreshes with one token all succeed within the reuse interval, and every chain lives on', async () => {
      const { config, tokens } = await h.signIn(app, 'race-refresh@example.com', { scope: 'openid offline_access' });
      const { ok, errors } = await settle(Array.from({ length: 20 }, () => oidc.refreshTokenGrant(config, tokens.refresh_token!)));
      expect(errors).to.deep.equal([]);
      expect(new Set(ok.map((t) => t.refresh_token)).size).to.equal(20);
      for (const next of ok) expect((await oidc.refreshTokenGrant(config, next.refresh_token!)).access_token).to.be.a('string');
    });

    it('sends one mail for the email form posted 5 times at once (a double click in flight), the same page to each', async () => {
      // One link per address per window: a second mail would have been refused, and audited so.
      const strict = await h.createApp({ name: 'Strict', max_links_per_address: 1 });
      const email = 'race-form@example.com';
      const browser = new Browser();
      const login = await h.startLogin(strict, browser);
      const form = formOn(login.page);
      const action = new URL(form.action, login.page.url).href;
      const pages = await Promise.all(Array.from({ length: 5 }, () => browser.request(action, { form: { ...form.fields, email } })));
      expect(pages.map((p) => p.status)).to.deep.equal(Array(5).fill(200));
      expect(new Set(pages.map((p) => p.body)).size, 'one page, word for word').to.equal(1);
      expect(pages[0]!.body).to.include('Check your email');
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => m.to === email)).to.have.length(1);
      await h.server.audit.flushed();
      const events = (await h.server.audit.query(strict.app_id, { email, limit: 50 })).map((e) => e.type);
      expect(events.filter((t) => t === 'link.requested')).to.have.length(1);
      expect(events.filter((t) => t === 'link.repeated')).to.have.length(4);
      expect(events).not.to.include('link.rate_limited');
      // The one link sent signs in.
      const link = linkIn(h.smtp.mails.find((m) => m.to === email)!);
      const done = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
      expect(done.url.startsWith(login.redirectUri)).to.equal(true);
    });
  });
}

describe('Redis going away and coming back', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const h = new Harness();

  before(async () => {
    await redis.start();
    await h.start({ REDIS_URL: redis.url });
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('answers 503 while Redis is down, never crashes, and recovers without a restart', async () => {
    const app = await h.createApp();
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).to.equal(200);

    await redis.stop();
    // The background probe reports it within its bound (readiness-probe.ts).
    expect((await h.untilNotReady()).unavailable).to.equal('redis');

    const admin = await h.admin('GET', '/admin/apps');
    expect(admin.status).to.equal(503);
    expect(admin.body.error).to.equal('temporarily_unavailable');

    const discovery = await fetch(`${app.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).to.equal(503);

    const page = await new Browser().request(`${app.issuer}/interaction/abc`);
    expect(page.status).to.equal(503);
    expect(page.body).not.to.match(/at .*\.ts:\d+/);

    await redis.start(redis.port);
    await h.untilReady();
    // Data written before the outage is still there (AOF) and the flow works again.
    const { tokens } = await h.signIn(app, 'after-outage@example.com');
    expect(tokens.id_token).to.be.a('string');
  });

  it('answers the token endpoint with temporarily_unavailable while Redis is down', async () => {
    const app = await h.createApp();
    const { config, tokens } = await h.signIn(app, 'token-outage@example.com', { scope: 'openid offline_access' });
    await redis.stop();
    try {
      const res = await fetch(`${app.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: app.client_id }),
      });
      // The provider is cached, so the request reaches the engine, whose adapter fails.
      expect(res.status).to.equal(503);
      expect(((await res.json()) as { error: string }).error).to.equal('temporarily_unavailable');
    } finally {
      await redis.start(redis.port);
    }
    await h.untilReady();
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');
  });
});
