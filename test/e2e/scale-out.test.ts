// Several identical Postern processes sharing Redis behave as one, and a process killed
// with SIGKILL loses nothing: real processes, a real redis-server (AOF on), a load
// balancer whose target each step picks, openid-client as the app.
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import type { AppJson } from '../helpers/harness.ts';
import { Cluster } from '../helpers/instance.ts';

/** How long an instance on Redis serves a cached Provider unchecked (the ProviderRegistry's revalidateMs). */
const REVALIDATE_MS = 30_000;

async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    const e = err as { error?: string; cause?: { parameters?: { error?: string } }[] };
    return e.error ?? e.cause?.[0]?.parameters?.error;
  }
  throw new Error('expected a rejection');
}

describe('scale-out and restarts (three processes on one Redis)', function () {
  this.timeout(120_000);
  const cluster = new Cluster();
  const { redis, lb, h, instances } = cluster;
  let app: AppJson;

  before(async () => {
    await cluster.start(3);
    lb.target = 0;
    app = await h.createApp({ name: 'Scaled App' });
  });

  after(() => cluster.stop());

  it('signs in on 1, redeems on 2, refreshes on 3, revokes on 1: 2 and 3 reject at once', async () => {
    const browser = new Browser();
    lb.target = 0;
    const login = await h.startLogin(app, browser, { scope: 'openid offline_access' });
    const { link } = await h.requestLink(browser, login.page, 'scaled@example.com');
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);

    lb.target = 1;
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });

    lb.target = 2;
    const refreshed = await oidc.refreshTokenGrant(login.config, tokens.refresh_token!);

    lb.target = 0;
    await oidc.tokenRevocation(login.config, refreshed.refresh_token!);

    for (const target of [1, 2]) {
      lb.target = target;
      expect(await rejection(oidc.refreshTokenGrant(login.config, refreshed.refresh_token!)), `instance ${target + 1}`).to.equal('invalid_grant');
    }
  });

  it('serves an admin change made on one instance from the others, told by Redis pub/sub', async () => {
    // A new app, so instances 2 and 3 load its Provider during this test: their own
    // revalidation cannot show the change until REVALIDATE_MS after that, so before
    // `bound` only the pub/sub message can have carried it.
    const fresh = await h.createApp({ name: 'Fresh App' });
    const bound = Date.now() + REVALIDATE_MS - 5_000;
    for (const target of [1, 2]) {
      lb.target = target;
      expect((await h.startLogin(fresh, new Browser())).page.body).to.include('Fresh App'); // cached there now
    }
    lb.target = 0;
    expect((await h.admin('PATCH', `/admin/apps/${fresh.app_id}`, { name: 'Renamed App' })).status).to.equal(200);
    for (const target of [1, 2]) {
      lb.target = target;
      let body = (await h.startLogin(fresh, new Browser())).page.body;
      // The message is delivered asynchronously: ask again until it is, never past `bound`.
      while (!body.includes('Renamed App') && Date.now() < bound) {
        await new Promise((r) => setTimeout(r, 50));
        body = (await h.startLogin(fresh, new Browser())).page.body;
      }
      expect(body, `instance ${target + 1}`).to.include('Renamed App');
    }
  });

  it('knows an API registered on one instance on the others at once, told by Redis pub/sub', async () => {
    const fresh = await h.createApp({ name: 'API App' });
    const api = 'https://api.example.com';
    const bound = Date.now() + REVALIDATE_MS - 5_000;
    /** Where the authorization request for the API is sent: the app with an error, or the hosted login. */
    const answer = async () => {
      const { url } = await h.authorizationRequest(fresh, { scope: 'openid read', params: { resource: api } });
      return (await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '';
    };
    for (const target of [1, 2]) {
      lb.target = target;
      expect(new URL(await answer()).searchParams.get('error'), `instance ${target + 1}`).to.equal('invalid_target'); // cached there now
    }
    lb.target = 0;
    expect((await h.admin('POST', `/admin/apps/${fresh.app_id}/resources`, { identifier: api, scopes: ['read'] })).status).to.equal(201);
    for (const target of [1, 2]) {
      lb.target = target;
      let location = await answer();
      // The message is delivered asynchronously: ask again until it is, never past `bound`.
      while (!location.includes('/interaction/') && Date.now() < bound) {
        await new Promise((r) => setTimeout(r, 50));
        location = await answer();
      }
      expect(location, `instance ${target + 1}`).to.include(`/apps/${fresh.app_id}/interaction/`);
    }
  });

  it('loses nothing when an instance is killed between the mail and the click', async () => {
    const browser = new Browser();
    lb.target = 0;
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'killed@example.com');

    await instances[0]!.kill('SIGKILL');
    await instances[0]!.start();

    const confirm = await browser.navigate(link);
    expect(confirm.status).to.equal(200);
    const callback = await browser.submit(confirm, {}, '/link', login.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(tokens.claims()?.email).to.equal('killed@example.com');
    // Still single use after the restart.
    const again = await browser.submit(confirm, {}, '/link', login.redirectUri);
    expect(again.status).to.equal(410);
  });

  it('keeps apps, keys and the refresh chain through SIGKILL of Postern and of Redis (AOF)', async () => {
    lb.target = 0;
    const { config, tokens } = await h.signIn(app, 'durable@example.com', { scope: 'openid offline_access' });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    const jwksBefore = await (await fetch(`${app.issuer}/jwks`)).json();
    const appBefore = (await h.admin('GET', `/admin/apps/${app.app_id}`)).body;
    expect(appBefore.name).to.equal('Scaled App');

    await Promise.all(instances.map((i) => i.kill('SIGKILL')));
    await redis.stop(); // SIGTERM; with appendfsync always, SIGKILL would lose nothing either
    await redis.start(redis.port);
    await Promise.all(instances.map((i) => i.start()));

    lb.target = 1;
    expect(await (await fetch(`${app.issuer}/jwks`)).json()).to.deep.equal(jwksBefore);
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body).to.deep.equal(appBefore);
    const next = await oidc.refreshTokenGrant(config, refreshed.refresh_token!);
    await jwtVerify(next.id_token!, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: app.client_id });
    expect(next.claims()?.sub).to.equal('durable@example.com');
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    const code = await instances[2]!.kill('SIGTERM');
    expect(code).to.equal(0); // without the handler Node dies by the signal (code null)
    await instances[2]!.start();
  });
});
