// An app holds keys only for the algorithms its clients sign with: ES512 alone by default,
// and RS256 (or ES256, EdDSA) from the write that first makes one of its clients sign with
// it: the app's own change, an admin-created client, or a client registered or updated
// through RFC 7591/7592, whose keys exist before the engine judges it. Every client signs
// every response with a key the app publishes, verified here by jose against the JWKS;
// nobody without the right to register makes the app generate a key.
import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { SIGNING_ALGS } from '../../src/apps/client-options.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { asClient } from './clients.test.ts';

interface KeyJson {
  kid: string;
  alg: string;
  status: string;
}

describe('signing keys made when a client first needs them', function () {
  this.timeout(120_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const keysOf = async (app: AppJson) => ((await h.admin('GET', `/admin/apps/${app.app_id}`)).body as { keys: KeyJson[] }).keys;
  const algsOf = async (app: AppJson) => (await keysOf(app)).map((k) => `${k.alg} ${k.status}`).sort();
  const publishedAlgs = async (app: AppJson) => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: { alg: string }[] }).keys.map((k) => k.alg).sort();
  const jwks = (app: AppJson) => createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
  const mint = async (app: AppJson) => ((await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { max_uses: 10 })).body as { initial_access_token: string }).initial_access_token;
  const register = (app: AppJson, metadata: unknown, token?: string, method = 'POST', url = `${app.issuer}/reg`) =>
    fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(metadata),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));

  /** Signs in as `client` and checks its ID token as an RP that accepts `alg` only; the access token comes back. */
  async function idTokenSignedWith(app: AppJson, client: AppJson, alg: string, email: string) {
    const { tokens } = await h.signIn(client, email);
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks(app), { algorithms: [alg], issuer: app.issuer, audience: client.client_id });
    expect(protectedHeader.alg).to.equal(alg);
    expect(payload.sub).to.equal(email);
    return tokens;
  }

  /** The introspection response asked for as a JWT (RFC 9701), verified for `alg` only. */
  async function introspectionSignedWith(app: AppJson, client: AppJson, token: string, alg: string) {
    const res = await fetch(`${app.issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/token-introspection+jwt' },
      body: new URLSearchParams({ client_id: client.client_id, client_secret: client.client_secret!, token }),
    });
    expect(res.status).to.equal(200);
    const { payload, protectedHeader } = await jwtVerify(await res.text(), jwks(app), { algorithms: [alg], issuer: app.issuer });
    expect(protectedHeader.alg).to.equal(alg);
    expect((payload.token_introspection as { active: boolean }).active).to.equal(true);
  }

  it('creates an app with ES512 keys only, and with RS256 keys only when it signs with RS256', async () => {
    const plain = await h.createApp();
    expect(await algsOf(plain)).to.deep.equal(['ES512 current', 'ES512 next']);
    expect(await publishedAlgs(plain)).to.deep.equal(['ES512', 'ES512']);
    const rsa = await h.createApp({ id_token_signed_response_alg: 'RS256' });
    expect(await algsOf(rsa)).to.deep.equal(['RS256 current', 'RS256 next']);
    await idTokenSignedWith(rsa, rsa, 'RS256', 'rs256-app@example.com');
    // The scheduled sweep adds nothing: a key is made when a client needs it, not before.
    await h.server.keyRotation.runOnce();
    expect(await algsOf(plain)).to.deep.equal(['ES512 current', 'ES512 next']);
  });

  it('signs introspection responses a client names no algorithm for with the app\'s ID token algorithm', async () => {
    for (const alg of ['ES512', 'RS256'] as const) {
      const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: alg });
      const { tokens } = await h.signIn(app, `introspect-${alg.toLowerCase()}@example.com`);
      await introspectionSignedWith(app, app, tokens.access_token, alg);
      expect(new Set(await publishedAlgs(app))).to.deep.equal(new Set([alg]));
    }
  });

  it('signs every response of every client, for every algorithm, with a key the JWKS publishes', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_post' });
    for (const alg of SIGNING_ALGS) {
      const created = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, {
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: alg,
        userinfo_signed_response_alg: alg,
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const body = created.body as Record<string, unknown>;
      const client = asClient(app, body, body.client_secret as string);
      const tokens = await idTokenSignedWith(app, client, alg, `every-${alg.toLowerCase()}@example.com`);
      const userinfo = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      const { protectedHeader } = await jwtVerify(await userinfo.text(), jwks(app), { algorithms: [alg], issuer: app.issuer, audience: client.client_id });
      expect(protectedHeader.alg).to.equal(alg);
      // No introspection algorithm named: the app's ID token one (ES512), whatever the client's.
      await introspectionSignedWith(app, client, tokens.access_token, 'ES512');
    }
    expect(new Set(await publishedAlgs(app))).to.deep.equal(new Set(SIGNING_ALGS));
  });

  it('registers an RS256 client through RFC 7591 at an ES512 app: its keys come first, and openid-client verifies its ID token', async () => {
    const app = await h.createApp();
    const token = await mint(app);
    const config = await oidc.dynamicClientRegistration(
      new URL(app.issuer),
      { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' },
      oidc.None(),
      { initialAccessToken: token, execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] },
    );
    const metadata = config.clientMetadata();
    expect(metadata.id_token_signed_response_alg).to.equal('RS256');
    expect(await algsOf(app)).to.deep.equal(['ES512 current', 'ES512 next', 'RS256 current', 'RS256 next']);
    const client = asClient(app, metadata as Record<string, unknown>);
    const login = await h.authorize(client, 'registered-rs256@example.com');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(login.callbackUrl), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(decodeProtectedHeader(tokens.id_token!).alg).to.equal('RS256');
    await jwtVerify(tokens.id_token!, jwks(app), { algorithms: ['RS256'], issuer: app.issuer, audience: client.client_id });
  });

  it('adds the keys an RFC 7592 update names, for the client\'s own registration access token only', async () => {
    const app = await h.createApp();
    const registered = await register(app, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }, await mint(app));
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    const { registration_client_uri: uri, registration_access_token: rat, client_id } = registered.body;
    const update = { client_id, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'EdDSA' };
    const other = await register(app, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }, await mint(app));
    for (const wrong of [undefined, 'not-a-token', other.body.registration_access_token as string]) {
      expect((await register(app, update, wrong, 'PUT', uri)).status, String(wrong)).to.equal(401);
    }
    expect(await algsOf(app)).to.deep.equal(['ES512 current', 'ES512 next']);
    const updated = await register(app, update, rat, 'PUT', uri);
    expect(updated.status, JSON.stringify(updated.body)).to.equal(200);
    expect(updated.body.id_token_signed_response_alg).to.equal('EdDSA');
    expect(await algsOf(app)).to.deep.equal(['ES512 current', 'ES512 next', 'EdDSA current', 'EdDSA next'].sort());
    await idTokenSignedWith(app, asClient(app, updated.body), 'EdDSA', 'updated-eddsa@example.com');
  });

  it('makes no key for a registration without the right to register, or naming an algorithm it may not', async () => {
    const app = await h.createApp();
    const spent = await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { max_uses: 1 });
    const used = (spent.body as { initial_access_token: string }).initial_access_token;
    expect((await register(app, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }, used)).status).to.equal(201);
    const elsewhere = await mint(await h.createApp({ name: 'Other' }));
    const rs256 = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' };
    for (const token of [undefined, 'not-a-token', used, elsewhere, ` ${elsewhere}`]) {
      const refused = await register(app, rs256, token);
      // 401, or 400 for a malformed Authorization header.
      expect(refused.status, `${String(token)} ${JSON.stringify(refused.body)}`).to.be.oneOf([400, 401]);
    }
    const token = await mint(app);
    for (const alg of ['rs256', 'RS256 ', 'PS256', 'HS256', 'none']) {
      const res = await register(app, { ...rs256, id_token_signed_response_alg: alg }, token);
      expect(res.status, alg).to.equal(400);
      expect(res.body.error, alg).to.equal('invalid_client_metadata');
    }
    // Hostile bodies: the engine refuses them; none makes a key.
    for (const body of ['[', '"RS256"', JSON.stringify(['RS256'])]) {
      const res = await fetch(`${app.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      expect(res.status, body).to.equal(400);
    }
    expect(await algsOf(app)).to.deep.equal(['ES512 current', 'ES512 next']);
  });

  it('makes one RS256 pair for a parallel burst of RS256 registrations, and every one of them signs', async () => {
    const app = await h.createApp();
    const token = await mint(app);
    const rs256 = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' };
    const results = await Promise.all(Array.from({ length: 6 }, () => register(app, rs256, token)));
    for (const res of results) expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(await algsOf(app)).to.deep.equal(['ES512 current', 'ES512 next', 'RS256 current', 'RS256 next']);
    await idTokenSignedWith(app, asClient(app, results[5]!.body), 'RS256', 'burst@example.com');
  });

  it('never lets a Provider built before a client\'s keys sign for it: 503 until it is rebuilt', async () => {
    const app = await h.createApp();
    // Built and cached on this instance (from an app's second request: provider-registry.ts).
    for (let i = 0; i < 2; i++) expect((await fetch((await h.authorizationRequest(app)).url, { redirect: 'manual' })).status).to.equal(303);
    // Another instance adds an RS256 client with its keys; this one has not heard of it yet.
    const stored = (await h.stores.apps.get(app.app_id))!;
    const metadata = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' };
    const withClient = { ...stored, clients: [{ clientId: 'late-client', metadata, origin: 'admin' as const, createdAt: 0, updatedAt: 0 }] };
    const late = { ...withClient, keys: await h.server.apps.keysFor(withClient), updatedAt: stored.updatedAt + 1 };
    expect(await h.stores.apps.replace(late, stored.updatedAt)).to.equal(true);
    const client: AppJson = { ...app, client_id: 'late-client', client_secret: undefined, token_endpoint_auth_method: 'none' };
    const stale = await fetch((await h.authorizationRequest(client)).url, { redirect: 'manual' });
    expect(stale.status).to.equal(503);
    h.server.registry.invalidate(app.app_id);
    await idTokenSignedWith(app, client, 'RS256', 'late@example.com');
  });
});
