// The core journey: an app created through the admin API, an openid-client app, a person
// signing in by email link, and every claim of the resulting tokens.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('sign-in by magic link (openid-client as the app)', () => {
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Acme Notes' });
  });
  after(() => h.stop());

  it('publishes discovery with code flow, PKCE S256, ES512 default, RFC 9207 iss and revoke_all', async () => {
    const res = await fetch(`${app.issuer}/.well-known/openid-configuration`);
    expect(res.status).to.equal(200);
    const meta = (await res.json()) as Record<string, any>;
    expect(meta.issuer).to.equal(`${h.url}/apps/${app.app_id}`);
    expect(meta.response_types_supported).to.deep.equal(['code']);
    expect(meta.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(meta.id_token_signing_alg_values_supported).to.include.members(['ES512', 'RS256']);
    expect(meta.authorization_response_iss_parameter_supported).to.equal(true);
    expect(meta.revoke_all_endpoint).to.equal(`${meta.issuer}/token/revoke_all`);
    // RFC 8414 §2: the methods the revocation and introspection endpoints accept, as at the token endpoint.
    for (const endpoint of ['revocation', 'introspection']) {
      expect(meta[`${endpoint}_endpoint_auth_methods_supported`], endpoint).to.deep.equal(meta.token_endpoint_auth_methods_supported);
    }
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint']) {
      expect(meta[key], key).to.be.a('string').and.satisfy((u: string) => u.startsWith(meta.issuer));
    }
  });

  it('publishes only public keys: EC P-521 (ES512) and RSA (RS256), current and next, UUID kids', async () => {
    // An app that signs with both: ID tokens ES512, introspection responses RS256.
    const both = await h.createApp({ introspection_signed_response_alg: 'RS256' });
    const { keys } = (await (await fetch(`${both.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    expect(keys).to.have.length(4); // the next key of each is published before it signs
    const ec = keys.filter((k) => k.kty === 'EC');
    const rsa = keys.filter((k) => k.kty === 'RSA');
    expect(ec).to.have.length(2);
    expect(rsa).to.have.length(2);
    for (const k of ec) expect(k).to.include({ crv: 'P-521', alg: 'ES512', use: 'sig' });
    for (const k of rsa) expect(k).to.include({ alg: 'RS256', use: 'sig' });
    for (const key of keys) {
      expect(key.kid).to.match(UUID);
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.to.have.property(priv);
    }
  });

  it('signs a person in end to end and issues an ES512 ID token with every claim', async () => {
    const email = 'Ada.Lovelace@Example.com ';
    const before = Math.floor(Date.now() / 1000);
    const result = await h.signIn(app, email);
    const callback = new URL(result.callbackUrl);
    expect(callback.searchParams.get('iss')).to.equal(app.issuer);
    expect(callback.searchParams.get('state')).to.equal(result.state);
    expect(callback.searchParams.get('code')).to.be.a('string');

    const idToken = result.tokens.id_token!;
    const header = decodeProtectedHeader(idToken);
    expect(header.alg).to.equal('ES512');
    expect(header.kid).to.match(UUID);
    const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
    const { payload } = await jwtVerify(idToken, jwks, { issuer: app.issuer, audience: app.client_id, algorithms: ['ES512'] });
    expect(payload.sub).to.equal('ada.lovelace@example.com');
    expect(payload.email).to.equal('ada.lovelace@example.com');
    expect(payload.email_verified).to.equal(true);
    expect(payload.aud).to.equal(app.app_id);
    expect(payload.jti).to.match(UUID);
    expect(payload.token_use).to.equal('id');
    expect(payload.nonce).to.equal(result.nonce);
    expect(payload.iat).to.be.within(before, before + 5);
    expect(payload.nbf).to.be.at.most(payload.iat!).and.at.least(payload.iat! - 1);
    expect(payload.exp! - payload.iat!).to.equal(1800);
    expect(payload.auth_time).to.be.within(before, before + 5);
    // at_hash = base64url(left half of SHA-512(access token)) for ES512.
    const digest = createHash('sha512').update(result.tokens.access_token).digest();
    expect(payload.at_hash).to.equal(digest.subarray(0, 32).toString('base64url'));
    expect(payload.sid).to.be.a('string').with.length.above(10);
    expect(result.tokens.refresh_token).to.equal(undefined);
  });

  it('answers userinfo with sub, email and email_verified', async () => {
    const { tokens } = await h.signIn(app, 'grace@example.com');
    const config = await h.client(app);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, 'grace@example.com');
    expect(info).to.deep.equal({ sub: 'grace@example.com', email: 'grace@example.com', email_verified: true });
    expect(tokens.expires_in).to.be.at.most(600);
  });

  it('introspects an access token (RFC 7662) and revokes it (RFC 7009)', async () => {
    const { tokens } = await h.signIn(app, 'intro@example.com');
    const config = await h.client(app);
    const active = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(active.active).to.equal(true);
    expect(active.sub).to.equal('intro@example.com');
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
  });

  it('skips the login page while the browser has a session, and RP-initiated logout ends it', async () => {
    const first = await h.signIn(app, 'session@example.com');
    const again = await h.startLogin(app, first.browser);
    // Straight back to the app with a code: the session is reused.
    expect(again.page.url).to.match(/^http:\/\/localhost:8080\/callback\?code=/);

    const endUrl = oidc.buildEndSessionUrl(first.config, { id_token_hint: first.tokens.id_token! });
    const confirm = await first.browser.navigate(endUrl.href);
    expect(confirm.status).to.equal(200);
    expect(confirm.body).to.include('Sign out');
    const done = await first.browser.submit(confirm, { logout: 'yes' });
    expect(done.body).to.include('You are signed out');

    const after = await h.startLogin(app, first.browser);
    expect(after.page.status).to.equal(200);
    expect(after.page.body).to.include('name="email"');
  });

  it('gives consent to a signed-in browser without recording a sign-in: auth_time stays, max_age asks again', async () => {
    const first = await h.signIn(app, 'consent@example.com');
    const signedInAt = first.tokens.claims()!.auth_time as number;
    // Two seconds on, so a sign-in recorded now would show in auth_time and pass max_age=1.
    while (Math.floor(Date.now() / 1000) < signedInAt + 2) await new Promise((resolve) => setTimeout(resolve, 100));
    // offline_access asks for consent (src/oidc/offline-access.ts), as prompt=consent does;
    // the browser's session answers both with no page and no mail.
    for (const opts of [{ scope: 'openid email offline_access' }, { params: { prompt: 'consent' } }]) {
      const request = await h.authorizationRequest(app, opts);
      const back = await first.browser.navigate(request.url.href, {}, request.redirectUri);
      expect(back.url).to.match(/^http:\/\/localhost:8080\/callback\?code=/);
      const tokens = await oidc.authorizationCodeGrant(request.config, new URL(back.url), {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      expect(tokens.claims()!.auth_time, JSON.stringify(opts)).to.equal(signedInAt);
      if (opts.scope) expect(tokens.refresh_token).to.be.a('string');
    }
    const fresh = await h.startLogin(app, first.browser, { params: { max_age: '1' } });
    expect(fresh.page.status).to.equal(200);
    expect(fresh.page.body).to.match(/<input[^>]+name="email"/);
  });

  it('shows the login page with the app name, a CSRF token and an email field', async () => {
    const { page } = await h.startLogin(app, new Browser());
    expect(page.status).to.equal(200);
    expect(page.headers.get('cache-control')).to.equal('no-store');
    expect(page.body).to.include('Acme Notes');
    expect(page.body).to.match(/<input[^>]+name="email"/);
    expect(page.body).to.match(/name="csrf" value="[A-Za-z0-9_-]{43}"/);
  });
});

describe('login_hint', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  it('pre-fills a valid address from login_hint and ignores anything else', async () => {
    const app = await h.createApp();
    const config = await h.client(app);
    const open = async (hint: string) => {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: app.redirect_uris[0]!,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        login_hint: hint,
      });
      return (await new Browser().navigate(url.href)).body;
    };
    expect(await open(' Ada@Example.com ')).to.match(/name="email"[^>]*value="ada@example.com"/);
    const hostile = await open('"><script>alert(1)</script>@x.com');
    expect(hostile).not.to.include('<script>alert(1)</script>');
    expect(hostile).to.match(/name="email"[^>]*value=""/);
  });
});
