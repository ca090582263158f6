// Dynamic Client Registration (RFC 7591) and management (RFC 7592) at each app's issuer:
// initial access tokens minted by the admin (valid, expired, used up, revoked, another
// app's), the RFC 7591 errors, read/update/delete with the registration access token, a
// registered client signing in through openid-client's own registration support, and
// isolation between apps.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { asClient } from './clients.test.ts';

describe('Dynamic Client Registration (RFC 7591, RFC 7592)', () => {
  const h = new Harness();
  let app: AppJson;
  let other: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp();
    other = await h.createApp({ name: 'Other App' });
  });
  after(() => h.stop());

  const mint = async (body: unknown = {}, appId = app.app_id) => {
    const res = await h.admin('POST', `/admin/apps/${appId}/initial-access-tokens`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { initial_access_token: string; id: string; expires_at: string };
  };

  const register = (metadata: unknown, token?: string, issuer = app.issuer) =>
    fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
      body: typeof metadata === 'string' ? metadata : JSON.stringify(metadata),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

  it('advertises the registration endpoint in discovery', async () => {
    const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as any;
    expect(discovery.registration_endpoint).to.equal(`${app.issuer}/reg`);
  });

  it('refuses registration without an initial access token, or with an unknown one: open registration is off', async () => {
    expect((await register({ redirect_uris: [REDIRECT_URI] })).status).to.equal(401);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, 'not-a-token')).body.error).to.equal('invalid_token');
    const list = await h.admin('GET', `/admin/apps/${app.app_id}/clients`);
    expect(list.body.clients).to.have.length(1);
  });

  it('registers a client with openid-client and signs in with it; the client is listed, marked as registered', async () => {
    const { initial_access_token } = await mint();
    const config = await oidc.dynamicClientRegistration(
      new URL(app.issuer),
      { redirect_uris: [REDIRECT_URI], client_name: 'CLI', token_endpoint_auth_method: 'client_secret_basic' },
      undefined,
      { initialAccessToken: initial_access_token, execute: [oidc.allowInsecureRequests] },
    );
    const metadata = config.clientMetadata();
    expect(metadata.client_secret).to.be.a('string');
    expect(metadata.registration_access_token).to.be.a('string');
    const { tokens } = await h.signIn(asClient(app, metadata as Record<string, unknown>, metadata.client_secret as string), 'reg@example.com');
    expect(decodeJwt(tokens.id_token!).aud).to.equal(metadata.client_id);
    const listed = await h.admin('GET', `/admin/apps/${app.app_id}/clients/${metadata.client_id}`);
    expect(listed.body).to.include({ origin: 'registration', client_name: 'CLI' });
    expect(listed.body).to.not.have.property('client_secret');
  });

  it('a registration that names no authentication method is a public client, answered without a secret, also at an update', async () => {
    const { initial_access_token } = await mint();
    const res = await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.token_endpoint_auth_method).to.equal('none');
    expect(res.body).to.not.have.property('client_secret');
    expect(res.body).to.not.have.property('client_secret_expires_at');
    const { tokens } = await h.signIn(asClient(app, res.body), 'public-reg@example.com');
    expect(decodeJwt(tokens.id_token!).aud).to.equal(res.body.client_id);
    const updated = await fetch(res.body.registration_client_uri, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${res.body.registration_access_token}` },
      body: JSON.stringify({ client_id: res.body.client_id, redirect_uris: [REDIRECT_URI], client_name: 'Renamed' }),
    });
    const body = (await updated.json()) as Record<string, unknown>;
    expect([updated.status, body.token_endpoint_auth_method, 'client_secret' in body]).to.deep.equal([200, 'none', false]);
  });

  it('a single-use token registers one client, also in a parallel burst; then it is used up', async () => {
    const { initial_access_token } = await mint({ max_uses: 'single_use' });
    const results = await Promise.all(Array.from({ length: 6 }, () => register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)));
    expect(results.filter((r) => r.status === 201)).to.have.length(1);
    expect(results.every((r) => r.status === 201 || r.status === 401), JSON.stringify(results.map((r) => r.status))).to.equal(true);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)).status).to.equal(401);
  });

  it('a token for N uses registers N clients', async () => {
    const { initial_access_token } = await mint({ max_uses: 2 });
    expect((await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)).status).to.equal(201);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)).status).to.equal(201);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)).status).to.equal(401);
  });

  it('refuses an expired or revoked token, and lists tokens without their value', async () => {
    const expiring = await mint({ expires_in: 60 });
    const revoked = await mint();
    const listed = await h.admin('GET', `/admin/apps/${app.app_id}/initial-access-tokens`);
    expect(JSON.stringify(listed.body)).to.not.include(revoked.initial_access_token);
    expect(listed.body.initial_access_tokens.map((t: { id: string }) => t.id)).to.include(revoked.id);
    expect((await h.admin('DELETE', `/admin/apps/${app.app_id}/initial-access-tokens/${revoked.id}`)).status).to.equal(204);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, revoked.initial_access_token)).status).to.equal(401);
    h.clock.travel(61);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, expiring.initial_access_token)).status).to.equal(401);
  });

  it("another app's token is worthless here", async () => {
    const { initial_access_token } = await mint({}, other.app_id);
    expect((await register({ redirect_uris: [REDIRECT_URI] }, initial_access_token)).status).to.equal(401);
  });

  it('answers bad metadata with RFC 7591 errors, spending no use of the token', async () => {
    const { initial_access_token: token } = await mint({ max_uses: 1, policy: { redirect_uri_hosts: ['app.example.com'] } });
    const cases: [unknown, string, RegExp][] = [
      [{ redirect_uris: ['ms-msdt:/x'] }, 'invalid_redirect_uri', /scheme/],
      [{ redirect_uris: ['https://evil.example.net/cb'] }, 'invalid_redirect_uri', /hosts this registration allows/],
      [{ redirect_uris: ['HTTPS://APP.EXAMPLE.COM/cb#frag'] }, 'invalid_redirect_uri', /fragment/],
      [{ redirect_uris: ['https://app.example.com/%2e%2e/cb'], post_logout_redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri', /post_logout_redirect_uris/],
      [{}, 'invalid_redirect_uri', /redirect_uris/],
      [{ redirect_uris: ['https://app.example.com/cb'], frontchannel_logout_uri: 'https://app.example.com/fc' }, 'invalid_client_metadata', /front-channel/],
      [{ redirect_uris: ['https://app.example.com/cb'], logo_uri: 'http://app.example.com/logo.png' }, 'invalid_client_metadata', /logo_uri/],
      [{ redirect_uris: ['https://app.example.com/cb'], logo_uri: 'https://evil.example.net/pixel.png' }, 'invalid_client_metadata', /logo_uri must be on one of the hosts/],
      [{ redirect_uris: ['https://app.example.com/cb'], client_uri: 'https://evil.example.net/' }, 'invalid_client_metadata', /client_uri must be on one of the hosts/],
      [{ redirect_uris: ['https://app.example.com/cb'], id_token_signed_response_alg: 'none' }, 'invalid_client_metadata', /id_token_signed_response_alg/],
      [{ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata', /jwks|token_endpoint_auth_method/],
      [{ redirect_uris: ['https://app.example.com/cb'], grant_types: ['client_credentials'] }, 'invalid_client_metadata', /grant_types/],
      [{ redirect_uris: ['https://app.example.com/cb'], client_name: 'a\u202Eb' }, 'invalid_client_metadata', /client_name/],
      [{ redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'https://evil.example.net/bc' }, 'invalid_client_metadata', /backchannel_logout_uri must be on one of the hosts/],
    ];
    for (const [metadata, error, description] of cases) {
      const res = await register(metadata, token);
      expect(res.status, JSON.stringify(metadata)).to.equal(400);
      expect(res.body.error, JSON.stringify(metadata)).to.equal(error);
      expect(res.body.error_description, JSON.stringify(metadata)).to.match(description);
    }
    expect((await register('[1,2]', token)).status).to.equal(400);
    expect((await register({ redirect_uris: ['https://app.example.com/cb'] }, token)).status).to.equal(201);
  });

  describe('management (RFC 7592)', () => {
    let registered: Record<string, any>;
    before(async () => {
      const { initial_access_token } = await mint({ policy: { redirect_uri_hosts: ['app.example.com'] } });
      registered = (await register({ redirect_uris: ['https://app.example.com/cb'], client_name: 'Managed' }, initial_access_token)).body;
    });

    const manage = (method: string, token: string, body?: unknown, uri = registered.registration_client_uri as string) =>
      fetch(uri, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as any) }));

    it('reads the client with its registration access token, not with another', async () => {
      expect(registered.registration_client_uri).to.equal(`${app.issuer}/reg/${registered.client_id}`);
      const read = await manage('GET', registered.registration_access_token);
      expect(read.status).to.equal(200);
      expect(read.body).to.include({ client_id: registered.client_id, client_name: 'Managed' });
      expect((await manage('GET', 'wrong')).status).to.equal(401);
    });

    it("is worthless at another app, where the client is unknown", async () => {
      const elsewhere = `${other.issuer}/reg/${registered.client_id}`;
      expect((await manage('GET', registered.registration_access_token, undefined, elsewhere)).status).to.equal(401);
      expect((await h.admin('GET', `/admin/apps/${other.app_id}/clients/${registered.client_id}`)).status).to.equal(404);
    });

    it('updates the client under its policy, with a new registration access token', async () => {
      const refused = await manage('PUT', registered.registration_access_token, { client_id: registered.client_id, redirect_uris: ['https://evil.example.net/cb'] });
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.equal('invalid_redirect_uri');
      const updated = await manage('PUT', registered.registration_access_token, { client_id: registered.client_id, redirect_uris: ['https://app.example.com/new'], client_name: 'Renamed' });
      expect(updated.status, JSON.stringify(updated.body)).to.equal(200);
      expect(updated.body.client_name).to.equal('Renamed');
      expect(updated.body.registration_access_token).to.not.equal(registered.registration_access_token);
      expect((await manage('GET', registered.registration_access_token)).status).to.equal(401);
      registered.registration_access_token = updated.body.registration_access_token;
      const listed = await h.admin('GET', `/admin/apps/${app.app_id}/clients/${registered.client_id}`);
      expect(listed.body.redirect_uris).to.deep.equal(['https://app.example.com/new']);
    });

    it('deletes the client; registration, update and deletion are in the audit trail', async () => {
      expect((await manage('DELETE', registered.registration_access_token)).status).to.equal(204);
      await h.server.audit.flushed();
      const audited = (await h.admin('GET', `/admin/apps/${app.app_id}/audit?limit=200`)).body.events as { type: string; client_id?: string }[];
      const mine = audited.filter((e) => e.client_id === registered.client_id).map((e) => e.type);
      expect(mine).to.include.members(['client.registered', 'client.updated', 'client.deleted']);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}/clients/${registered.client_id}`)).status).to.equal(404);
      expect((await manage('GET', registered.registration_access_token)).status).to.equal(401);
    });
  });
});
