// Per-app signing algorithms: ID tokens (id_token_signed_response_alg: ES512 by default,
// RS256, ES256, EdDSA), and userinfo and introspection responses when the app signs them.
// Relying parties that accept one algorithm only (jose with `algorithms`, openid-client
// with the client's registered algorithm) verify against the JWKS; discovery lists what
// the app can sign with, and the JWKS nothing else.
import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { SIGNING_ALGS } from '../../src/apps/client-options.ts';
import type { AppRecord } from '../../src/storage/ports.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

interface KeyJson {
  kid: string;
  alg: string;
  status: string;
}

describe('conformance: signing algorithms per app', function () {
  this.timeout(60_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const jwksOf = (app: AppJson) => createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
  const discoveryOf = async (app: AppJson) => (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const publishedOf = async (app: AppJson) => ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: Record<string, string>[] }).keys;
  const viewOf = async (app: AppJson) => (await h.admin('GET', `/admin/apps/${app.app_id}`)).body as AppJson & { keys: KeyJson[] };
  const patch = async (app: AppJson, body: Record<string, unknown>) => {
    const res = await h.admin('PATCH', `/admin/apps/${app.app_id}`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as AppJson & { keys: KeyJson[] };
  };

  /** openid-client as a relying party registered for `alg` that checks every signature against the JWKS. */
  async function strictClient(app: AppJson, metadata: Partial<oidc.ClientMetadata>) {
    return oidc.discovery(new URL(app.issuer), app.client_id, metadata, oidc.None(), {
      execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks],
    });
  }

  /** Signs in and checks the ID token as an RP that accepts `alg` only: jose and openid-client. */
  async function signsIdTokensWith(app: AppJson, alg: string, email: string) {
    const login = await h.authorize(app, email);
    const config = await strictClient(app, { id_token_signed_response_alg: alg });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(login.callbackUrl), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    const idToken = tokens.id_token!;
    const header = decodeProtectedHeader(idToken);
    expect(header.alg).to.equal(alg);
    const { payload } = await jwtVerify(idToken, jwksOf(app), { algorithms: [alg], issuer: app.issuer, audience: app.client_id });
    expect(payload.sub).to.equal(email);
    // The signing key is the app's current key of that algorithm, published in the JWKS.
    const keys = (await viewOf(app)).keys;
    expect(keys.filter((k) => k.alg === alg && k.status === 'current').map((k) => k.kid)).to.deep.equal([header.kid]);
    expect((await publishedOf(app)).map((k) => k.kid)).to.include(header.kid);
    return { tokens, config };
  }

  for (const alg of SIGNING_ALGS) {
    it(`signs ID tokens with ${alg} for an app created with it, verifiable by an RP that accepts ${alg} only`, async () => {
      const app = await h.createApp({ id_token_signed_response_alg: alg });
      expect(app.id_token_signed_response_alg).to.equal(alg);
      await signsIdTokensWith(app, alg, `${alg.toLowerCase()}@example.com`);
      // An RP expecting another algorithm refuses the token.
      const other = alg === 'RS256' ? 'ES512' : 'RS256';
      const login = await h.authorize(app, `${alg.toLowerCase()}-other@example.com`);
      const wrong = await strictClient(app, { id_token_signed_response_alg: other });
      const refused = await oidc
        .authorizationCodeGrant(wrong, new URL(login.callbackUrl), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce })
        .then(() => undefined, (err: Error) => `${err.message}: ${(err.cause as Error | undefined)?.message}`);
      expect(refused).to.include('unexpected JWT "alg"');
    });
  }

  it('signs with ES512 by default and publishes ES512 keys only, while discovery lists every algorithm a client may register', async () => {
    const app = await h.createApp();
    expect(app.id_token_signed_response_alg).to.equal('ES512');
    expect(app.userinfo_signed_response_alg).to.equal(null);
    expect(app.introspection_signed_response_alg).to.equal(null);
    await signsIdTokensWith(app, 'ES512', 'default-alg@example.com');
    const meta = await discoveryOf(app);
    // OpenID Connect Discovery requires RS256 among the ID token algorithms: a client that
    // registers it gets the app's RS256 keys in the write that stores it.
    for (const field of ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported', 'introspection_signing_alg_values_supported']) {
      expect(meta[field], field).to.have.members([...SIGNING_ALGS]);
    }
    // No key is published that the app does not sign with.
    expect((await publishedOf(app)).map((k) => k.alg)).to.deep.equal(['ES512', 'ES512']);
    expect((await viewOf(app)).keys.map((k) => k.alg)).to.deep.equal(['ES512', 'ES512']);
  });

  it('switches an app stored before these options existed to RS256, ES256 and EdDSA, and back to ES512', async () => {
    const created = await h.createApp({ name: 'Legacy' });
    // The record as stored before: no PKCE or signing options, keys for ES512 and RS256 only.
    const stored = (await h.stores.apps.get(created.app_id))!;
    const { requirePkce: _p, idTokenSignedResponseAlg: _i, ...legacy } = stored;
    expect(await h.stores.apps.replace({ ...legacy, updatedAt: stored.updatedAt + 1 } as AppRecord, stored.updatedAt)).to.equal(true);
    await h.server.registry.invalidate(created.app_id);
    expect((await viewOf(created)).id_token_signed_response_alg).to.equal('ES512');

    expect((await patch(created, { id_token_signed_response_alg: 'RS256' })).keys).to.have.length(4);
    await signsIdTokensWith(created, 'RS256', 'legacy-rs256@example.com');

    for (const alg of ['ES256', 'EdDSA']) {
      const view = await patch(created, { id_token_signed_response_alg: alg });
      // Its keys come in the same write: a current one that signs now, and the next one.
      expect(view.keys.filter((k) => k.alg === alg).map((k) => k.status).sort()).to.deep.equal(['current', 'next']);
      expect((await discoveryOf(created)).id_token_signing_alg_values_supported).to.include(alg);
      await signsIdTokensWith(created, alg, `legacy-${alg.toLowerCase()}@example.com`);
    }

    const back = await patch(created, { id_token_signed_response_alg: 'ES512' });
    expect(back.id_token_signed_response_alg).to.equal('ES512');
    await signsIdTokensWith(created, 'ES512', 'legacy-back@example.com');
    // Keys once added stay, and each can sign: discovery lists every algorithm the JWKS has.
    const published = new Set((await publishedOf(created)).map((k) => k.alg));
    expect(published).to.deep.equal(new Set(SIGNING_ALGS));
    expect((await discoveryOf(created)).id_token_signing_alg_values_supported).to.have.members([...SIGNING_ALGS]);
  });

  it('keeps one current and one next key per algorithm when algorithm changes race each other and a rotation', async () => {
    const app = await h.createApp();
    h.clock.travel(600); // the next keys have propagated: a rotation may promote them
    try {
      const results = await Promise.all([
        h.admin('PATCH', `/admin/apps/${app.app_id}`, { id_token_signed_response_alg: 'ES256' }),
        h.admin('PATCH', `/admin/apps/${app.app_id}`, { userinfo_signed_response_alg: 'EdDSA' }),
        h.admin('PATCH', `/admin/apps/${app.app_id}`, { introspection_signed_response_alg: 'ES256' }),
        h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`),
      ]);
      for (const res of results) expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 409]);
      const view = await viewOf(app);
      expect(view.id_token_signed_response_alg).to.equal('ES256');
      expect(view.userinfo_signed_response_alg).to.equal('EdDSA');
      for (const alg of ['ES512', 'ES256', 'EdDSA']) {
        expect(view.keys.filter((k) => k.alg === alg && k.status === 'current'), alg).to.have.length(1);
        expect(view.keys.filter((k) => k.alg === alg && k.status === 'next'), alg).to.have.length(1);
      }
      expect(view.keys.filter((k) => k.alg === 'RS256'), 'nothing signs with RS256').to.deep.equal([]);
      expect((await publishedOf(app)).map((k) => k.kid)).to.have.members(view.keys.map((k) => k.kid));
      await signsIdTokensWith(app, 'ES256', 'raced@example.com');
    } finally {
      h.clock.reset();
    }
  });

  it('publishes EdDSA keys as Ed25519 and ES256 keys as P-256, public members only', async () => {
    const app = await h.createApp({ id_token_signed_response_alg: 'EdDSA', userinfo_signed_response_alg: 'ES256' });
    const keys = await publishedOf(app);
    for (const key of keys.filter((k) => k.alg === 'EdDSA')) expect(key).to.include({ kty: 'OKP', crv: 'Ed25519', use: 'sig' });
    for (const key of keys.filter((k) => k.alg === 'ES256')) expect(key).to.include({ kty: 'EC', crv: 'P-256', use: 'sig' });
    for (const key of keys) expect(key).not.to.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi');
    expect(keys.filter((k) => k.alg === 'EdDSA')).to.have.length(2);
  });

  it('refuses an algorithm outside the list with a 400 that names the allowed values', async () => {
    const app = await h.createApp();
    for (const field of ['id_token_signed_response_alg', 'userinfo_signed_response_alg', 'introspection_signed_response_alg']) {
      for (const value of ['HS256', 'none', 'rs256', 'ES512 ', 'PS256', 123, ['RS256'], field === 'id_token_signed_response_alg' ? null : 'Ed25519']) {
        const res = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { [field]: value });
        expect(res.status, `${field} ${JSON.stringify(value)}`).to.equal(400);
        expect(res.body.error_description).to.include(`${field} must be one of ES512, RS256, ES256, EdDSA`);
        const created = await h.admin('POST', '/admin/apps', { name: 'X', redirect_uris: ['http://localhost:8080/callback'], [field]: value });
        expect(created.status, `create ${field} ${JSON.stringify(value)}`).to.equal(400);
      }
    }
    const view = await viewOf(app);
    expect(view.keys).to.have.length(2);
    expect(view.id_token_signed_response_alg).to.equal('ES512');
  });

  it('signs userinfo responses when the app says so, and answers plain JSON again once unset', async () => {
    const app = await h.createApp({ userinfo_signed_response_alg: 'ES256' });
    const { tokens } = await h.signIn(app, 'userinfo-jwt@example.com');
    const res = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.headers.get('content-type')).to.include('application/jwt');
    const { payload, protectedHeader } = await jwtVerify(await res.text(), jwksOf(app), { algorithms: ['ES256'], issuer: app.issuer, audience: app.client_id });
    expect(protectedHeader.alg).to.equal('ES256');
    expect(payload).to.include({ sub: 'userinfo-jwt@example.com', email: 'userinfo-jwt@example.com' });
    // openid-client registered for signed userinfo verifies it too.
    const strict = await strictClient(app, { userinfo_signed_response_alg: 'ES256' });
    expect((await oidc.fetchUserInfo(strict, tokens.access_token, 'userinfo-jwt@example.com')).email).to.equal('userinfo-jwt@example.com');

    expect((await patch(app, { userinfo_signed_response_alg: null })).userinfo_signed_response_alg).to.equal(null);
    const plain = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(plain.headers.get('content-type')).to.include('application/json');
    expect(((await plain.json()) as { sub: string }).sub).to.equal('userinfo-jwt@example.com');
  });

  it('signs introspection responses asked for as JWT (RFC 9701), JSON otherwise, and revoke_all still reads them', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_post', introspection_signed_response_alg: 'EdDSA' });
    const { tokens } = await h.signIn(app, 'introspection-jwt@example.com', { scope: 'openid offline_access' });
    const introspect = (accept: string) =>
      fetch(`${app.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
        body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret!, token: tokens.access_token }),
      });
    const signed = await introspect('application/token-introspection+jwt');
    expect(signed.headers.get('content-type')).to.include('application/token-introspection+jwt');
    const { payload, protectedHeader } = await jwtVerify(await signed.text(), jwksOf(app), { algorithms: ['EdDSA'], issuer: app.issuer });
    expect(protectedHeader.typ).to.equal('token-introspection+jwt');
    expect(payload.token_introspection).to.include({ active: true, sub: 'introspection-jwt@example.com' });
    const json = await introspect('application/json');
    expect(((await json.json()) as { active: boolean }).active).to.equal(true);

    const strict = await oidc.discovery(new URL(app.issuer), app.client_id, { introspection_signed_response_alg: 'EdDSA' }, oidc.ClientSecretPost(app.client_secret!), {
      execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks],
    });
    expect((await oidc.tokenIntrospection(strict, tokens.access_token)).sub).to.equal('introspection-jwt@example.com');

    // Sign-out everywhere asks the engine for JSON, whatever its caller accepts.
    const everywhere = await fetch(`${app.issuer}/token/revoke_all`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/token-introspection+jwt' },
      body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret!, token: tokens.refresh_token! }),
    });
    expect(await everywhere.json()).to.deep.equal({ grants_revoked: 1, sessions_ended: 1 });
  });
});
