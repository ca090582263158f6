// Refresh tokens (offline_access): rotation, replay detection, idle and absolute expiry,
// RFC 7009 revocation, and "sign out everywhere" through revoke_all.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { DEFAULT_SETTINGS } from '../../src/apps/app-settings.ts';

/** The OAuth error of a rejected openid-client call (from the body or WWW-Authenticate). */
async function rejects(promise: Promise<unknown>): Promise<{ error: unknown }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { error?: unknown; cause?: { parameters?: { error?: string } }[] };
    return { error: e.error ?? e.cause?.[0]?.parameters?.error };
  }
  throw new Error('expected the request to be rejected');
}

async function revokeAll(app: AppJson, body: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.issuer}/token/revoke_all`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('refresh tokens and sign-out', () => {
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Refresh App', refresh_token_idle_ttl: 3600, refresh_token_max_ttl: 3 * 3600 });
  });
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  it('issues no refresh token without offline_access, one with it (no consent screen)', async () => {
    const without = await h.signIn(app, 'norefresh@example.com');
    expect(without.tokens.refresh_token).to.equal(undefined);
    const withOffline = await h.signIn(app, 'refresh@example.com', { scope: 'openid email offline_access' });
    expect(withOffline.tokens.refresh_token).to.be.a('string');
    expect(withOffline.tokens.scope).to.include('offline_access');
  });

  it('rotates the refresh token on every use and issues fresh ES512 ID tokens', async () => {
    const { config, tokens } = await h.signIn(app, 'rotate@example.com', { scope: 'openid offline_access' });
    const first = tokens.refresh_token!;
    const second = await oidc.refreshTokenGrant(config, first);
    expect(second.refresh_token).to.be.a('string').and.not.equal(first);
    expect(second.id_token).to.be.a('string');
    expect(second.claims()?.sub).to.equal('rotate@example.com');
    const third = await oidc.refreshTokenGrant(config, second.refresh_token!);
    expect(third.refresh_token).not.to.equal(second.refresh_token);
    const info = await oidc.fetchUserInfo(config, third.access_token, 'rotate@example.com');
    expect(info.email).to.equal('rotate@example.com');
  });

  const REUSE = DEFAULT_SETTINGS.refresh_token_reuse_interval;

  it('keeps the session when a used refresh token comes again within the reuse interval (two tabs, a retry)', async () => {
    const { config, tokens } = await h.signIn(app, 'tabs@example.com', { scope: 'openid offline_access' });
    const first = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    h.clock.travel(REUSE - 2);
    // The second tab (or a client retrying after a lost response) gets tokens too...
    const second = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(second.refresh_token).to.be.a('string').and.not.equal(first.refresh_token);
    // ...and both chains live on.
    expect((await oidc.refreshTokenGrant(config, first.refresh_token!)).access_token).to.be.a('string');
    expect((await oidc.refreshTokenGrant(config, second.refresh_token!)).access_token).to.be.a('string');
  });

  it('revokes the whole chain when a used refresh token is replayed after the reuse interval', async () => {
    const { config, tokens } = await h.signIn(app, 'replay@example.com', { scope: 'openid offline_access' });
    const used = tokens.refresh_token!;
    const next = await oidc.refreshTokenGrant(config, used);
    h.clock.travel(REUSE);
    const replay = await rejects(oidc.refreshTokenGrant(config, used));
    expect(replay.error).to.equal('invalid_grant');
    // The legitimate successor and its access token died with the grant.
    expect((await rejects(oidc.refreshTokenGrant(config, next.refresh_token!))).error).to.equal('invalid_grant');
    expect((await oidc.tokenIntrospection(config, next.access_token)).active).to.equal(false);
  });

  it('treats any second use as a replay when the app sets refresh_token_reuse_interval to 0', async () => {
    const strict = await h.createApp({ name: 'Strict App', refresh_token_reuse_interval: 0 });
    const { config, tokens } = await h.signIn(strict, 'strict@example.com', { scope: 'openid offline_access' });
    const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect((await rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!))).error).to.equal('invalid_grant');
    expect((await rejects(oidc.refreshTokenGrant(config, next.refresh_token!))).error).to.equal('invalid_grant');
  });

  it('expires a refresh token left unused for refresh_token_idle_ttl, while use keeps it alive', async () => {
    const { config, tokens } = await h.signIn(app, 'idle@example.com', { scope: 'openid offline_access' });
    h.clock.travel(3000); // under the 3600 s idle limit
    const kept = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    h.clock.travel(3000); // 6000 s since sign-in, but only 3000 s since last use
    const again = await oidc.refreshTokenGrant(config, kept.refresh_token!);
    h.clock.travel(3601); // idle too long
    expect((await rejects(oidc.refreshTokenGrant(config, again.refresh_token!))).error).to.equal('invalid_grant');
  });

  it('ends the chain at refresh_token_max_ttl however often it is used', async () => {
    const { config, tokens } = await h.signIn(app, 'absolute@example.com', { scope: 'openid offline_access' });
    let refresh = tokens.refresh_token!;
    for (let i = 0; i < 3; i++) {
      h.clock.travel(3500);
      refresh = (await oidc.refreshTokenGrant(config, refresh)).refresh_token!;
    }
    // 10500 s of 10800 s used: the new token may only live the remaining 300 s.
    h.clock.travel(301);
    expect((await rejects(oidc.refreshTokenGrant(config, refresh))).error).to.equal('invalid_grant');
  });

  it('ends a chain that is past a lowered refresh_token_max_ttl with invalid_grant, never a 1-second token', async () => {
    const shrinking = await h.createApp({ name: 'Shrinking App', refresh_token_idle_ttl: 3600, refresh_token_max_ttl: 3 * 3600 });
    const { config, tokens } = await h.signIn(shrinking, 'lowered@example.com', { scope: 'openid offline_access' });
    h.clock.travel(1800);
    const kept = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    // The admin shortens the absolute lifetime below the chain's age: the chain ends now.
    expect((await h.admin('PATCH', `/admin/apps/${shrinking.app_id}`, { refresh_token_idle_ttl: 600, refresh_token_max_ttl: 900 })).status).to.equal(200);
    expect((await rejects(oidc.refreshTokenGrant(config, kept.refresh_token!))).error).to.equal('invalid_grant');
    expect((await oidc.tokenIntrospection(config, kept.refresh_token!)).active).to.equal(false);
  });

  it('revokes a refresh token through RFC 7009 (one device signs out)', async () => {
    const { config, tokens } = await h.signIn(app, 'device@example.com', { scope: 'openid offline_access' });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!))).error).to.equal('invalid_grant');
  });

  it('signs a user out everywhere: every grant, token and session of that user in that app', async () => {
    const laptop = await h.signIn(app, 'everywhere@example.com', { scope: 'openid offline_access' });
    const phone = await h.signIn(app, 'everywhere@example.com', { scope: 'openid offline_access' });
    const other = await h.signIn(app, 'bystander@example.com', { scope: 'openid offline_access' });

    const res = await revokeAll(app, { client_id: app.client_id, token: phone.tokens.refresh_token! });
    expect(res.status).to.equal(200);
    expect(res.body.grants_revoked).to.equal(2);
    expect(res.body.sessions_ended).to.equal(2);

    for (const device of [laptop, phone]) {
      expect((await rejects(oidc.refreshTokenGrant(device.config, device.tokens.refresh_token!))).error).to.equal('invalid_grant');
      expect((await oidc.tokenIntrospection(device.config, device.tokens.access_token)).active).to.equal(false);
      // The browser session is gone too: the next authorization shows the login page.
      const again = await h.startLogin(app, device.browser);
      expect(again.page.body).to.include('name="email"');
    }
    // Another user of the same app is untouched.
    const still = await oidc.refreshTokenGrant(other.config, other.tokens.refresh_token!);
    expect(still.access_token).to.be.a('string');
  });

  it('accepts an access token for revoke_all and answers zeros for unknown tokens', async () => {
    const user = await h.signIn(app, 'bytoken@example.com', { scope: 'openid offline_access' });
    const res = await revokeAll(app, { client_id: app.client_id, token: user.tokens.access_token });
    expect(res.body.grants_revoked).to.equal(1);
    const unknown = await revokeAll(app, { client_id: app.client_id, token: 'not-a-token' });
    expect(unknown).to.deep.equal({ status: 200, body: { grants_revoked: 0, sessions_ended: 0 } });
  });

  it('rejects revoke_all without client authentication or token', async () => {
    const missingClient = await revokeAll(app, { token: 'x' });
    expect(missingClient.status).to.equal(401);
    expect(missingClient.body.error).to.equal('invalid_client');
    const missingToken = await revokeAll(app, { client_id: app.client_id });
    expect(missingToken.status).to.equal(400);
    expect(missingToken.body.error).to.equal('invalid_request');
    const wrongType = await fetch(`${app.issuer}/token/revoke_all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).to.equal(415);
  });
});

describe('confidential clients', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`completes the flow with ${method} and rejects a wrong secret`, async () => {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      expect(app.client_secret).to.be.a('string').with.length.of.at.least(43);
      const { tokens, config } = await h.signIn(app, `${method}@example.com`, { scope: 'openid offline_access' });
      expect(tokens.id_token).to.be.a('string');
      expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');

      const wrongAuth = method === 'client_secret_basic' ? oidc.ClientSecretBasic('wrong') : oidc.ClientSecretPost('wrong');
      const wrong = await oidc.discovery(new URL(app.issuer), app.client_id, undefined, wrongAuth, { execute: [oidc.allowInsecureRequests] });
      expect((await rejects(oidc.refreshTokenGrant(wrong, tokens.refresh_token!))).error).to.equal('invalid_client');

      // revoke_all authenticates the same way.
      const form = new URLSearchParams({ token: tokens.access_token });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (method === 'client_secret_basic') {
        headers.authorization = `Basic ${Buffer.from(`${app.client_id}:wrong`).toString('base64')}`;
      } else {
        form.set('client_id', app.client_id);
        form.set('client_secret', 'wrong');
      }
      const denied = await fetch(`${app.issuer}/token/revoke_all`, { method: 'POST', headers, body: form });
      expect(denied.status).to.equal(401);
    });
  }

  it('refuses a code exchange without the client secret', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const publicView = await oidc.discovery(new URL(app.issuer), app.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'nosecret@example.com');
    const callback = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
    const err = await rejects(
      oidc.authorizationCodeGrant(publicView, new URL(callback.url), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce }),
    );
    expect(err.error).to.equal('invalid_client');
  });
});

describe('revoke_all client authentication', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  /** What an endpoint says to the credentials: status, OAuth error, and whether it asks for Basic. */
  async function verdict(url: string, form: Record<string, string>, headers: Record<string, string>) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
    const text = await res.text();
    const error = res.status >= 400 ? (JSON.parse(text) as { error?: string }).error : undefined;
    return { status: res.status, error, challenge: res.headers.has('www-authenticate') };
  }

  for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`judges every way of presenting a ${method} client exactly as the engine's revocation endpoint does`, async () => {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      const id = app.client_id;
      const secret = app.client_secret ?? 'no-secret-registered';
      const ways: Record<string, { form: Record<string, string>; headers?: Record<string, string> }> = {
        'client_id alone': { form: { client_id: id } },
        'client_id and the secret in the form': { form: { client_id: id, client_secret: secret } },
        'client_id and a wrong secret in the form': { form: { client_id: id, client_secret: 'wrong' } },
        'the secret in the form without client_id': { form: { client_secret: secret } },
        'Basic with the secret': { form: {}, headers: { authorization: basic(id, secret) } },
        'Basic with a wrong secret': { form: {}, headers: { authorization: basic(id, 'wrong') } },
        'Basic with an empty secret': { form: {}, headers: { authorization: basic(id, '') } },
        'Basic and the form both': { form: { client_id: id, client_secret: secret }, headers: { authorization: basic(id, secret) } },
        'Basic and the same client_id in the form': { form: { client_id: id }, headers: { authorization: basic(id, secret) } },
        'Basic and another client_id in the form': { form: { client_id: 'someone-else' }, headers: { authorization: basic(id, secret) } },
        'an unknown client_id': { form: { client_id: 'someone-else' } },
        'Basic for an unknown client': { form: {}, headers: { authorization: basic('someone-else', secret) } },
        'a malformed Basic header': { form: {}, headers: { authorization: 'Basic !!!' } },
        'another scheme': { form: { client_id: id }, headers: { authorization: 'Bearer x' } },
      };
      for (const [label, way] of Object.entries(ways)) {
        const form = { ...way.form, token: 'not-a-token' };
        const engine = await verdict(`${app.issuer}/token/revocation`, form, way.headers ?? {});
        const revokeAll = await verdict(`${app.issuer}/token/revoke_all`, form, way.headers ?? {});
        expect(revokeAll, `${method}: ${label}`).to.deep.equal(engine);
      }
    });
  }

  it('answers a request without any client authentication with 401 invalid_client (RFC 6749 §5.2), where the engine says 400', async () => {
    const app = await h.createApp();
    const form = { token: 'not-a-token' };
    expect(await verdict(`${app.issuer}/token/revoke_all`, form, {})).to.deep.equal({ status: 401, error: 'invalid_client', challenge: false });
    expect(await verdict(`${app.issuer}/token/revocation`, form, {})).to.deep.equal({ status: 400, error: 'invalid_request', challenge: false });
  });
});
