// API access tokens: an app registers its APIs (resources), an authorization request with
// `resource` (RFC 8707) and the API's scopes yields a JWT access token (RFC 9068) that the
// API verifies with jose against the app's JWKS; without `resource` the access token
// stays opaque and serves userinfo. Introspection tells an API that a grant was revoked.
import { expect } from 'chai';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import type { AppJson } from '../helpers/harness.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com/v1';

for (const storage of ['memory', 'redis'] as const) describe(`API access tokens (RFC 8707 resource indicators, RFC 9068 JWT access tokens), ${storage}`, function () {
  this.timeout(60_000);
  const { h } = harnessOn(storage);
  let app: AppJson;
  let other: AppJson;
  before(async () => {
    app = await h.createApp({ name: 'API owner' });
    other = await h.createApp({ name: 'Another app' });
    await addResource(app, { identifier: API, scopes: ['read:things', 'write:things'], access_token_ttl: 600 });
    await addResource(app, { identifier: OTHER_API, scopes: ['admin:all'] });
    await addResource(other, { identifier: 'https://b.example.com', scopes: ['read:things'] });
  });

  async function addResource(target: AppJson, body: Record<string, unknown>) {
    const res = await h.admin('POST', `/admin/apps/${target.app_id}/resources`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { id: string };
  }

  const jwksOf = (target: AppJson) => createRemoteJWKSet(new URL(`${target.issuer}/jwks`));

  /** Signs in with `params` in the authorization request; `tokenParams` go with the code exchange. */
  async function signIn(target: AppJson, email: string, scope: string, params: Record<string, string> = {}, tokenParams?: Record<string, string>) {
    const login = await h.authorize(target, email, { scope, params });
    const tokens = await oidc.authorizationCodeGrant(
      login.config,
      new URL(login.callbackUrl),
      { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce },
      tokenParams,
    );
    return { ...login, tokens };
  }

  /** The error an authorization request is answered with (the engine redirects it to the app). */
  async function authorizationError(target: AppJson, scope: string, params: Record<string, string>) {
    const { url, redirectUri } = await h.authorizationRequest(target, { scope, params });
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location') ?? '';
    expect(location.startsWith(redirectUri), `${res.status} ${location}`).to.equal(true);
    return new URL(location).searchParams;
  }

  async function verifyAtApi(token: string, target = app, audience = API) {
    return jwtVerify(token, jwksOf(target), { typ: 'at+jwt', audience, issuer: target.issuer, algorithms: ['ES512'] });
  }

  async function introspect(target: AppJson, token: string, clientId = target.client_id) {
    const res = await fetch(`${target.issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: clientId }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  describe("the app's user", () => {
    it('gets a JWT access token for the API it names, which the API verifies against the JWKS (RFC 9068 §2.2)', async () => {
      const { tokens } = await signIn(app, 'ada@example.com', 'openid email read:things', { resource: API }, { resource: API });
      const token = tokens.access_token;
      const { payload, protectedHeader } = await verifyAtApi(token);
      expect(protectedHeader.typ).to.equal('at+jwt');
      expect(payload).to.include({ iss: app.issuer, aud: API, sub: 'ada@example.com', client_id: app.client_id, scope: 'read:things' });
      expect(payload.jti).to.be.a('string').with.length.greaterThan(10);
      expect(payload.exp! - payload.iat!).to.equal(600);
      expect(tokens.expires_in).to.equal(600);
      // Signed with the app's current ES512 key, published in its JWKS.
      const keys = (await h.admin('GET', `/admin/apps/${app.app_id}`)).body.keys as { kid: string; alg: string; status: string }[];
      expect(keys.find((k) => k.alg === 'ES512' && k.status === 'current')?.kid).to.equal(protectedHeader.kid);
      // The ID token is still the app's, without an at_hash it could not compute right.
      const idToken = decodeJwt(tokens.id_token!);
      expect(idToken.aud).to.equal(app.client_id);
      expect(idToken).not.to.have.property('at_hash');
    });

    it('without a resource gets an opaque access token that serves userinfo; the JWT is refused there', async () => {
      const { tokens, config } = await signIn(app, 'bob@example.com', 'openid email', {});
      expect(() => decodeProtectedHeader(tokens.access_token)).to.throw();
      const info = await oidc.fetchUserInfo(config, tokens.access_token, 'bob@example.com');
      expect(info.email).to.equal('bob@example.com');

      const api = await signIn(app, 'bob@example.com', 'openid read:things', { resource: API }, { resource: API });
      const res = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${api.tokens.access_token}` } });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/invalid_token/);
    });

    it('a refresh with `resource` gets a token for that API; one without, an opaque one for userinfo', async () => {
      const { tokens, config } = await signIn(app, 'cy@example.com', 'openid offline_access read:things write:things', { resource: API });
      expect(() => decodeProtectedHeader(tokens.access_token)).to.throw(); // openid, no resource at the token endpoint
      const forApi = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API, scope: 'read:things' });
      const { payload } = await verifyAtApi(forApi.access_token);
      expect(payload).to.include({ aud: API, sub: 'cy@example.com', scope: 'read:things' });
      const both = await oidc.refreshTokenGrant(config, forApi.refresh_token!, { resource: API });
      expect((await verifyAtApi(both.access_token)).payload.scope).to.equal('read:things write:things');
      const plain = await oidc.refreshTokenGrant(config, both.refresh_token!);
      expect(() => decodeProtectedHeader(plain.access_token)).to.throw();
      expect((await oidc.fetchUserInfo(config, plain.access_token, 'cy@example.com')).email).to.equal('cy@example.com');
    });

    it('introspection says active while the grant lives, and inactive once the refresh token is revoked', async () => {
      const { tokens, config } = await signIn(app, 'di@example.com', 'openid offline_access read:things', { resource: API }, { resource: API });
      const live = await introspect(app, tokens.access_token);
      expect(live.status).to.equal(200);
      expect(live.body).to.include({ active: true, sub: 'di@example.com', client_id: app.client_id, aud: API, scope: 'read:things', token_type: 'Bearer' });
      await oidc.tokenRevocation(config, tokens.refresh_token!);
      expect((await introspect(app, tokens.access_token)).body).to.deep.equal({ active: false });
      // The API that verifies locally still accepts it until it expires: the trade-off of self-contained tokens.
      expect((await verifyAtApi(tokens.access_token)).payload.sub).to.equal('di@example.com');
    });

    it('revoke_all with the JWT access token ends every grant, after which it is inactive', async () => {
      const { tokens } = await signIn(app, 'ed@example.com', 'openid read:things', { resource: API }, { resource: API });
      const res = await fetch(`${app.issuer}/token/revoke_all`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.access_token, client_id: app.client_id }),
      });
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { grants_revoked: number }).grants_revoked).to.be.greaterThan(0);
      expect((await introspect(app, tokens.access_token)).body).to.deep.equal({ active: false });
    });
  });

  describe('an attacker', () => {
    for (const [what, params, scope] of [
      ['an unknown resource', { resource: 'https://unknown.example.com' }, 'openid read:things'],
      ['another spelling of the identifier (case)', { resource: 'https://API.example.com' }, 'openid read:things'],
      ['another spelling of the identifier (trailing slash)', { resource: `${API}/` }, 'openid read:things'],
      ['another spelling of the identifier (percent-encoding)', { resource: 'https://%61pi.example.com' }, 'openid read:things'],
      ['a scope of another of the app\'s APIs', { resource: API }, 'openid admin:all'],
      ['a scope no API has', { resource: API }, 'openid read:everything'],
      ['a relative resource', { resource: '/api' }, 'openid read:things'],
    ] as const) {
      it(`asking for ${what} gets invalid_target`, async () => {
        const answer = await authorizationError(app, scope, params);
        expect(answer.get('error')).to.equal('invalid_target');
      });
    }

    it("cannot use one app's API at another app: invalid_target there, and the other app's JWKS does not verify the token", async () => {
      expect((await authorizationError(other, 'openid read:things', { resource: API })).get('error')).to.equal('invalid_target');
      const { tokens } = await signIn(app, 'fay@example.com', 'openid read:things', { resource: API }, { resource: API });
      let refused: unknown;
      await jwtVerify(tokens.access_token, jwksOf(other), { typ: 'at+jwt', audience: API }).catch((err: unknown) => (refused = err));
      expect(refused).to.be.instanceOf(Error);
      // Nor does the other app's client learn anything of it by introspection there.
      const there = await introspect(other, tokens.access_token);
      expect(there.body).to.deep.equal({ active: false });
      // And the other app's client is no client here.
      expect((await introspect(app, tokens.access_token, other.client_id)).status).to.equal(401);
    });

    it('gets invalid_target for a refresh that names an unknown API, and invalid_scope for scopes beyond the grant (RFC 6749 §6)', async () => {
      const { tokens, config } = await signIn(app, 'gus@example.com', 'openid offline_access read:things', { resource: API });
      const refusal = (params: Record<string, string>) =>
        oidc.refreshTokenGrant(config, tokens.refresh_token!, params).then(
          () => 'issued',
          (err: { error?: string }) => err.error,
        );
      expect(await refusal({ resource: 'https://unknown.example.com' })).to.equal('invalid_target');
      expect(await refusal({ resource: OTHER_API })).to.equal('invalid_target'); // not in this grant
      expect(await refusal({ resource: API, scope: 'admin:all' })).to.equal('invalid_scope');
    });

    it('with a grant for two APIs, gets invalid_target for one API with the scope of the other', async () => {
      const request = await h.authorizationRequest(app, { scope: 'openid offline_access read:things admin:all', params: { resource: API } });
      request.url.searchParams.append('resource', OTHER_API);
      const browser = new Browser();
      const page = await browser.navigate(request.url.href, {}, request.redirectUri);
      const { callbackUrl } = await h.confirmSignIn(browser, page, 'gwen@example.com', request.redirectUri);
      const tokens = await oidc.authorizationCodeGrant(request.config, new URL(callbackUrl), {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      const refresh = (params: Record<string, string>) => oidc.refreshTokenGrant(request.config, tokens.refresh_token!, params);
      let error: unknown;
      await refresh({ resource: API, scope: 'admin:all' }).catch((err: unknown) => (error = err));
      expect((error as { error?: string }).error).to.equal('invalid_target');
      const forOther = await refresh({ resource: OTHER_API });
      expect((await verifyAtApi(forOther.access_token, app, OTHER_API)).payload.scope).to.equal('admin:all');
      const forApi = await oidc.refreshTokenGrant(request.config, forOther.refresh_token!, { resource: API });
      expect((await verifyAtApi(forApi.access_token)).payload.scope).to.equal('read:things');
    });

    it('gets active: false for a forged or altered JWT, and no 500 for a JWT-shaped string', async () => {
      const { tokens } = await signIn(app, 'hal@example.com', 'openid read:things', { resource: API }, { resource: API });
      const [header, payload, signature] = tokens.access_token.split('.');
      const altered = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      altered.sub = 'someone-else@example.com';
      const forged = `${header}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${signature}`;
      expect((await introspect(app, forged)).body).to.deep.equal({ active: false });
      expect((await introspect(app, `${header}.e30.`)).body).to.deep.equal({ active: false });
      // Signed by the app, but an ID token (typ JWT, aud the client): not an access token.
      expect((await introspect(app, tokens.id_token!)).body).to.deep.equal({ active: false });
      const noAuth = await fetch(`${app.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.access_token }),
      });
      expect(noAuth.status).to.be.within(400, 401);
    });

    it('parallel code exchanges of one code: one JWT, and introspection of it is inactive after the replay', async () => {
      const login = await h.authorize(app, 'ivy@example.com', { scope: 'openid read:things', params: { resource: API } });
      const exchange = () =>
        oidc
          .authorizationCodeGrant(login.config, new URL(login.callbackUrl), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce }, { resource: API })
          .then((t) => t.access_token, () => undefined);
      const results = (await Promise.all([exchange(), exchange(), exchange()])).filter((t): t is string => t !== undefined);
      expect(results).to.have.length(1);
      // The losers revoked what the code granted (adapter.ts): the winner's token is inactive.
      expect((await introspect(app, results[0]!)).body).to.deep.equal({ active: false });
    });
  });

  describe('the operator', () => {
    it('deleting a resource makes new requests for it invalid_target at once', async () => {
      const target = await h.createApp({ name: 'Short-lived API' });
      const { id } = await addResource(target, { identifier: 'https://gone.example.com', scopes: ['x'] });
      expect((await h.admin('DELETE', `/admin/apps/${target.app_id}/resources/${id}`)).status).to.equal(204);
      expect((await authorizationError(target, 'openid x', { resource: 'https://gone.example.com' })).get('error')).to.equal('invalid_target');
    });

    it('a rotated key stays published as long as the longest-lived API token it may have signed', async () => {
      const target = await h.createApp({ name: 'Rotating', id_token_ttl: 60 });
      await addResource(target, { identifier: 'https://long.example.com', scopes: ['x'], access_token_ttl: 3600 });
      h.clock.travel(11 * 60); // the next keys have been published long enough to be promoted
      const rotated = await h.admin('POST', `/admin/apps/${target.app_id}/keys/rotate`);
      expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
      const previous = (rotated.body.keys as { status: string; retire_at: string }[]).filter((k) => k.status === 'previous');
      expect(previous).to.have.length.greaterThan(0);
      for (const key of previous) expect(Date.parse(key.retire_at) - h.clock.now()).to.be.at.least(3600 * 1000);
    });
  });
});
