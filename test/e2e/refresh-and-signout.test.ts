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

  // A thief refreshed first: the token the user's app holds is spent, and signing out
  // everywhere with it must end the thief's chain, inside the reuse window and after it.
  for (const [when, seconds] of [['inside the reuse window', 0], ['after the reuse window', 120]] as const) {
    it(`signs out everywhere with a spent refresh token of a live chain (${when}), ending the thief's chain`, async () => {
      const user = await h.signIn(app, `stolen-${seconds}@example.com`, { scope: 'openid offline_access' });
      const thief = await oidc.refreshTokenGrant(user.config, user.tokens.refresh_token!);
      h.clock.travel(seconds);
      const res = await revokeAll(app, { client_id: app.client_id, token: user.tokens.refresh_token! });
      expect(res).to.deep.equal({ status: 200, body: { grants_revoked: 1, sessions_ended: 1 } });
      expect((await rejects(oidc.refreshTokenGrant(user.config, thief.refresh_token!))).error).to.equal('invalid_grant');
      expect((await oidc.tokenIntrospection(user.config, thief.access_token)).active).to.equal(false);
      await h.server.audit.flushed();
      const [event] = await h.stores.audit.query(app.app_id, { type: 'signout.everywhere', limit: 1 });
      expect(event).to.include({ outcome: 'success', reason: 'spent refresh token of a live grant' });
    });
  }

  it('ends nothing with a spent refresh token whose chain has already ended', async () => {
    const laptop = await h.signIn(app, 'ended-chain@example.com', { scope: 'openid offline_access' });
    const phone = await h.signIn(app, 'ended-chain@example.com', { scope: 'openid offline_access' });
    const next = await oidc.refreshTokenGrant(laptop.config, laptop.tokens.refresh_token!);
    await oidc.tokenRevocation(laptop.config, next.refresh_token!); // the laptop signed out: its chain is gone
    const res = await revokeAll(app, { client_id: app.client_id, token: laptop.tokens.refresh_token! });
    expect(res).to.deep.equal({ status: 200, body: { grants_revoked: 0, sessions_ended: 0 } });
    // The phone's sign-in is untouched.
    expect((await oidc.refreshTokenGrant(phone.config, phone.tokens.refresh_token!)).access_token).to.be.a('string');
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

describe('client authentication: token, revocation, introspection, PAR and revoke_all agree', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const basic = (id: string, secret: string, scheme = 'Basic') => `${scheme} ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const FORM = 'application/x-www-form-urlencoded';

  /**
   * What an endpoint says to the credentials: `accepted` when the client passed
   * authentication (the endpoint went on to judge the request itself), else status,
   * OAuth error, and whether it asks for Basic.
   */
  async function verdict(url: string, body: string, headers: Record<string, string>, accepted: (status: number, error: string | undefined) => boolean) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
    const text = await res.text();
    const error = res.status >= 400 ? (JSON.parse(text) as { error?: string }).error : undefined;
    return accepted(res.status, error) ? 'accepted' : { status: res.status, error, challenge: res.headers.has('www-authenticate') };
  }

  /** Every endpoint that authenticates clients, with a request it judges once the client is authenticated. */
  const endpoints = (app: AppJson) => {
    const ok = (status: number) => status === 200;
    return {
      token: { url: `${app.issuer}/token`, params: 'grant_type=refresh_token&refresh_token=not-a-token', accepted: (_: number, error?: string) => error === 'invalid_grant' },
      revocation: { url: `${app.issuer}/token/revocation`, params: 'token=not-a-token', accepted: ok },
      introspection: { url: `${app.issuer}/token/introspection`, params: 'token=not-a-token', accepted: ok },
      revoke_all: { url: `${app.issuer}/token/revoke_all`, params: 'token=not-a-token', accepted: ok },
    };
  };

  /** A pushed authorization request's own parameters; client_id is one of them (the engine requires it). */
  const parParams = (app: AppJson, body: string) =>
    new URLSearchParams({
      ...(body.includes('client_id=') ? {} : { client_id: app.client_id }),
      response_type: 'code',
      scope: 'openid',
      redirect_uri: app.redirect_uris[0]!,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();

  /** The registered method's own ways, and only those, are accepted (RFC 7591 §2). */
  const ACCEPTED: Record<string, string[]> = {
    none: ['client_id alone'],
    client_secret_basic: ['Basic with the secret', 'Basic and the same client_id in the form', 'Basic in lower case', 'Basic and an empty secret in the form'],
    client_secret_post: ['client_id and the secret in the form', 'the secret in the form, its name percent-encoded', 'the form with charset=UTF-8'],
  };

  for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`judges every way of presenting a ${method} client alike at every endpoint, accepting the registered method only`, async () => {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      const id = app.client_id;
      const secret = app.client_secret ?? 'no-secret-registered';
      const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
      // `par: false`: a way PAR cannot tell apart from another, since client_id is a parameter
      // of the authorization request there.
      const ways: Record<string, { body: string; headers?: Record<string, string>; par?: false }> = {
        'client_id alone': { body: form({ client_id: id }) },
        'client_id and the secret in the form': { body: form({ client_id: id, client_secret: secret }) },
        'client_id and a wrong secret in the form': { body: form({ client_id: id, client_secret: 'wrong' }) },
        'the secret in the form without client_id': { body: form({ client_secret: secret }), par: false },
        'the secret in the form, its name percent-encoded': { body: `client_id=${id}&client%5Fsecret=${encodeURIComponent(secret)}` },
        'the secret twice in the form': { body: form({ client_id: id }) + `&client_secret=${encodeURIComponent(secret)}&client_secret=${encodeURIComponent(secret)}` },
        'the form with charset=UTF-8': { body: form({ client_id: id, client_secret: secret }), headers: { 'content-type': `${FORM}; charset=UTF-8` } },
        'Basic with the secret': { body: '', headers: { authorization: basic(id, secret) } },
        'Basic in lower case': { body: '', headers: { authorization: basic(id, secret, 'basic') } },
        'Basic with a wrong secret': { body: '', headers: { authorization: basic(id, 'wrong') } },
        'Basic with an empty secret': { body: '', headers: { authorization: basic(id, '') } },
        'Basic and the form both': { body: form({ client_id: id, client_secret: secret }), headers: { authorization: basic(id, secret) } },
        'Basic and an empty secret in the form': { body: form({ client_id: id, client_secret: '' }), headers: { authorization: basic(id, secret) } },
        'Basic and the same client_id in the form': { body: form({ client_id: id }), headers: { authorization: basic(id, secret) } },
        'Basic and another client_id in the form': { body: form({ client_id: 'someone-else' }), headers: { authorization: basic(id, secret) } },
        'an unknown client_id': { body: form({ client_id: 'someone-else' }) },
        'Basic for an unknown client': { body: '', headers: { authorization: basic('someone-else', secret) } },
        'a malformed Basic header': { body: '', headers: { authorization: 'Basic !!!' } },
        'another scheme': { body: form({ client_id: id }), headers: { authorization: 'Bearer x' } },
      };
      const accepted: string[] = [];
      for (const [label, way] of Object.entries(ways)) {
        const verdicts: Record<string, unknown> = {};
        for (const [name, endpoint] of Object.entries(endpoints(app))) {
          const body = [way.body, endpoint.params].filter(Boolean).join('&');
          verdicts[name] = await verdict(endpoint.url, body, way.headers ?? {}, endpoint.accepted);
        }
        const [first, ...rest] = Object.values(verdicts);
        for (const other of rest) expect(other, `${method}: ${label} ${JSON.stringify(verdicts)}`).to.deep.equal(first);
        if (first === 'accepted') accepted.push(label);
        // PAR reads client_id as a parameter of the request too, so its refusals may name
        // another error; whether it accepts the client is the same.
        if (way.par === false) continue;
        const par = await verdict(`${app.issuer}/request`, [way.body, parParams(app, way.body)].filter(Boolean).join('&'), way.headers ?? {}, (status) => status === 201);
        expect(par === 'accepted', `${method}: ${label} at PAR ${JSON.stringify(par)}`).to.equal(first === 'accepted');
      }
      expect(accepted.sort(), method).to.deep.equal([...ACCEPTED[method]!].sort());
    });
  }

  it('refuses the other transport as invalid_client, with a Basic challenge when the header was tried', async () => {
    const basicApp = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const postApp = await h.createApp({ token_endpoint_auth_method: 'client_secret_post' });
    const inForm = await fetch(`${basicApp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: basicApp.client_id, client_secret: basicApp.client_secret! }),
    });
    expect(inForm.status).to.equal(401);
    expect(await inForm.json()).to.deep.include({ error: 'invalid_client' });
    expect(inForm.headers.has('www-authenticate')).to.equal(false);
    expect(inForm.headers.get('cache-control')).to.equal('no-store');
    const inHeader = await fetch(`${postApp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basic(postApp.client_id, postApp.client_secret!) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }),
    });
    expect(inHeader.status).to.equal(401);
    const body = (await inHeader.json()) as { error: string; error_description: string };
    expect(body.error).to.equal('invalid_client');
    expect(body.error_description).to.include('client_secret_post');
    expect(inHeader.headers.get('www-authenticate')).to.match(/^Basic realm=/);
  });

  it('holds at every spelling of the path the engine routes (letters in any case, a trailing slash)', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const path = app.issuer.slice(h.url.length);
    for (const endpoint of ['/TOKEN', '/token/', '/Token/Revocation', '/token/INTROSPECTION/', '/REQUEST']) {
      const res = await fetch(`${h.url}${path}${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret!, token: 'x', grant_type: 'refresh_token', refresh_token: 'x' }),
      });
      expect(res.status, endpoint).to.equal(401);
      expect(((await res.json()) as { error: string }).error, endpoint).to.equal('invalid_client');
    }
  });

  it('completes the whole flow with each confidential method as openid-client sends it', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      const app = await h.createApp({ token_endpoint_auth_method: method });
      const { config, tokens } = await h.signIn(app, `${method}-flow@example.com`, { scope: 'openid offline_access' });
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).to.equal(true);
      await oidc.tokenRevocation(config, refreshed.refresh_token!);
      // The other method's openid-client is refused at the token endpoint.
      const other = method === 'client_secret_basic' ? oidc.ClientSecretPost(app.client_secret!) : oidc.ClientSecretBasic(app.client_secret!);
      const wrong = await oidc.discovery(new URL(app.issuer), app.client_id, undefined, other, { execute: [oidc.allowInsecureRequests] });
      expect((await rejects(oidc.refreshTokenGrant(wrong, refreshed.refresh_token!))).error).to.equal('invalid_client');
    }
  });

  it('answers a request without any client authentication with 401 invalid_client (RFC 6749 §5.2), where the engine says 400', async () => {
    const app = await h.createApp();
    const never = () => false;
    expect(await verdict(`${app.issuer}/token/revoke_all`, 'token=not-a-token', {}, never)).to.deep.equal({ status: 401, error: 'invalid_client', challenge: false });
    expect(await verdict(`${app.issuer}/token/revocation`, 'token=not-a-token', {}, never)).to.deep.equal({ status: 400, error: 'invalid_request', challenge: false });
  });
});
