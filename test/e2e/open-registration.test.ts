// Open registration: RFC 7591 without an initial access token, off unless the admin gives
// the app a policy (open_registration on POST/PATCH /admin/apps). Off by default, on with a
// policy, URIs outside it refused (display links too), the client's name never shown for
// the app's, max_clients (also against a parallel burst), client
// types, another app's policy, the per-IP rate limit (a forged X-Forwarded-For does not
// reset it), turning it off again, and the admin API refusing malformed policies.
import { expect } from 'chai';
import { Browser } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { asClient } from './clients.test.ts';
import { audits } from '../security/support.ts';
import { OPEN_REGISTRATIONS_PER_IP } from '../../src/oidc/open-registration.ts';

describe('open registration (RFC 7591 without an initial access token)', function () {
  this.timeout(60_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const policy = (extra: Record<string, unknown> = {}) => ({ open_registration: { redirect_uri_hosts: ['app.example.com'], max_clients: 5, ...extra } });
  const register = (app: AppJson, metadata: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(metadata) }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as Record<string, any>,
    }));
  const ok = { redirect_uris: ['https://app.example.com/cb'] };
  const clientsOf = async (app: AppJson) => (await h.admin('GET', `/admin/apps/${app.app_id}/clients`)).body.clients as Record<string, unknown>[];

  it('is off by default: a token-less registration is 401 invalid_token, the app shows null, discovery is unchanged', async () => {
    const app = await h.createApp();
    expect(app.open_registration).to.equal(null);
    const res = await register(app, ok);
    expect([res.status, res.body.error]).to.deep.equal([401, 'invalid_token']);
    const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.registration_endpoint).to.equal(`${app.issuer}/reg`);
    expect(await clientsOf(app)).to.have.length(1);
  });

  it('on with a policy: registers a client on the allowed hosts, marked open_registration, audited with open: true', async () => {
    const app = await h.createApp(policy());
    expect(app.open_registration).to.deep.equal({ redirect_uri_hosts: ['app.example.com'], max_clients: 5, client_types: ['public', 'confidential'] });
    const res = await register(app, { redirect_uris: ['https://APP.example.com/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.client_secret).to.be.a('string');
    expect(res.body.registration_access_token).to.be.a('string');
    const listed = await h.admin('GET', `/admin/apps/${app.app_id}/clients/${res.body.client_id}`);
    expect(listed.body).to.include({ origin: 'open_registration' });
    expect(listed.body.redirect_uri_hosts, 'RFC 7592 updates stay under the policy').to.deep.equal(['app.example.com']);
    await h.server.audit.flushed();
    const registered = audits(h).filter((a) => a.type === 'client.registered' && a.app_id === app.app_id);
    expect(registered.map((a) => [a.client_id, a.open])).to.deep.equal([[res.body.client_id, true]]);
  });

  it('refuses URIs outside the policy (also percent-encoded and look-alike hosts) with RFC 7591 errors, storing nothing', async () => {
    const app = await h.createApp(policy());
    const refused: [Record<string, unknown>, string][] = [
      [{ redirect_uris: ['https://evil.example.com/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://app.example.com.evil.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://app.example.com%2F@evil.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: [REDIRECT_URI] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri'],
      [{ ...ok, post_logout_redirect_uris: ['https://evil.example.com/bye'] }, 'invalid_redirect_uri'],
      [{ ...ok, backchannel_logout_uri: 'https://evil.example.com/bc' }, 'invalid_client_metadata'],
      [{}, 'invalid_redirect_uri'],
    ];
    for (const [metadata, error] of refused) {
      const res = await register(app, metadata);
      expect([res.status, res.body.error], JSON.stringify(metadata)).to.deep.equal([400, error]);
    }
    expect(await clientsOf(app)).to.have.length(1);
  });

  it('refuses display links and initiate_login_uri outside the policy: phishing links and a tracking logo in the mail', async () => {
    const app = await h.createApp(policy());
    // Ten tries: the per-IP limit of one app.
    for (const field of ['logo_uri', 'client_uri', 'policy_uri', 'tos_uri', 'initiate_login_uri']) {
      for (const uri of ['https://evil.example.com/x', 'https://app.example.com.evil.example/x']) {
        const res = await register(app, { ...ok, [field]: uri });
        expect([res.status, res.body.error], `${field} ${uri}`).to.deep.equal([400, 'invalid_client_metadata']);
        expect(res.body.error_description).to.include(field).and.include('app.example.com');
      }
    }
    expect(await clientsOf(app)).to.have.length(1);
  });

  it("never shows an openly registered client's name for the app's, in the mail or on the page; its links on the policy's hosts are shown", async () => {
    const app = await h.createApp({ name: 'Acme Shop', ...policy() });
    const display = { client_uri: 'https://app.example.com/home', policy_uri: 'https://APP.example.com/privacy', logo_uri: 'https://app.example.com/logo.png' };
    const res = await register(app, { ...ok, client_name: 'Acme Security Team - ACTION REQUIRED', ...display });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const browser = new Browser();
    const login = await h.startLogin(asClient(app, res.body), browser);
    expect(login.page.body).to.include('Acme Shop').and.include('https://app.example.com/home').and.include('https://APP.example.com/privacy');
    expect(login.page.body).not.to.include('ACTION REQUIRED');
    const { mail } = await h.requestLink(browser, login.page, 'victim@example.com');
    expect(mail.subject).to.include('Acme Shop').and.not.include('ACTION REQUIRED');
    expect(mail.text + mail.html).not.to.include('ACTION REQUIRED');
    expect(mail.html).to.include('https://app.example.com/home');
    // An RFC 7592 update stays under the policy's hosts for these fields too.
    const update = await fetch(res.body.registration_client_uri, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${res.body.registration_access_token}` },
      body: JSON.stringify({ client_id: res.body.client_id, ...ok, logo_uri: 'https://evil.example.com/pixel.png' }),
    });
    expect([update.status, ((await update.json()) as { error?: string }).error]).to.deep.equal([400, 'invalid_client_metadata']);
  });

  it('registers only the client types the policy allows', async () => {
    const app = await h.createApp(policy({ client_types: ['public'] }));
    const confidential = await register(app, { ...ok, token_endpoint_auth_method: 'client_secret_post' });
    expect([confidential.status, confidential.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    expect((await register(app, ok)).status).to.equal(201);
  });

  it('refuses beyond max_clients, also in a parallel burst; deleting one frees its place', async () => {
    const app = await h.createApp(policy({ max_clients: 3 }));
    const results = await Promise.all(Array.from({ length: 8 }, () => register(app, ok)));
    expect(results.filter((r) => r.status === 201), JSON.stringify(results.map((r) => r.status))).to.have.length(3);
    for (const r of results.filter((r) => r.status !== 201)) expect([r.status, r.body.error]).to.deep.equal([409, 'invalid_request']);
    expect((await clientsOf(app)).filter((c) => c.origin === 'open_registration')).to.have.length(3);
    const first = results.find((r) => r.status === 201)!.body;
    const removed = await fetch(first.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${first.registration_access_token}` } });
    expect(removed.status).to.equal(204);
    expect((await register(app, ok)).status).to.equal(201);
  });

  it("another app's policy does not apply, and a forged token is not an open registration", async () => {
    const open = await h.createApp(policy());
    const closed = await h.createApp();
    expect((await register(closed, ok)).status).to.equal(401);
    expect((await register(open, ok, { authorization: 'Bearer forged-token' })).body.error).to.equal('invalid_token');
    expect(await clientsOf(closed)).to.have.length(1);
  });

  it('rate-limits token-less registrations per client IP, whatever X-Forwarded-For says', async () => {
    const app = await h.createApp(policy({ max_clients: 50 }));
    const statuses: number[] = [];
    for (let i = 0; i <= OPEN_REGISTRATIONS_PER_IP; i++) {
      statuses.push((await register(app, i % 2 ? ok : { redirect_uris: ['https://evil.example.com/cb'] }, { 'x-forwarded-for': `203.0.113.${i}` })).status);
    }
    expect(statuses.slice(0, -1).every((s) => s === 201 || s === 400), JSON.stringify(statuses)).to.equal(true);
    const limited = await register(app, ok);
    expect([statuses.at(-1), limited.status, limited.body.error]).to.deep.equal([429, 429, 'too_many_requests']);
    // Another app keeps its own count.
    expect((await register(await h.createApp(policy()), ok)).status).to.equal(201);
  });

  it('refuses metadata the engine would choke on with 400, before it reads it: an algorithm as an array nested thousands deep, metadata nested too deep', async () => {
    const app = await h.createApp(policy());
    const nested = (depth: number) => '['.repeat(depth) + '"HS256"' + ']'.repeat(depth);
    const raw = (body: string) =>
      fetch(`${app.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (res) => [res.status, ((await res.json()) as { error: string }).error]);
    expect(await raw(`{"redirect_uris":["https://app.example.com/cb"],"userinfo_signed_response_alg":${nested(12_000)}}`)).to.deep.equal([400, 'invalid_client_metadata']);
    expect(await raw(`{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":["none"]}`)).to.deep.equal([400, 'invalid_client_metadata']);
    expect(await raw(`{"redirect_uris":["https://app.example.com/cb"],"contacts":${nested(20)}}`)).to.deep.equal([400, 'invalid_client_metadata']);
    // The same through the admin API.
    const admin = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, `{"redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":${nested(12_000)}}`);
    expect([admin.status, admin.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    expect(await clientsOf(app)).to.have.length(1);
  });

  it('bounds what one client may add to its app: metadata over 16 KiB is refused with 400 there and through the admin API, and nothing is stored', async () => {
    const app = await h.createApp(policy());
    const uris = (length: number) => Array.from({ length: 20 }, (_, i) => `https://app.example.com/${String(i).padStart(2, '0')}${'x'.repeat(length)}`);
    // Twenty long redirect URIs fit; a registrant cannot grow the app's record much further.
    const fits = await register(app, { redirect_uris: uris(700) });
    expect(fits.status).to.equal(201);
    // Nor through an RFC 7592 update.
    const update = await fetch(fits.body.registration_client_uri, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fits.body.registration_access_token}` },
      body: JSON.stringify({ client_id: fits.body.client_id, redirect_uris: uris(900) }),
    });
    expect([update.status, ((await update.json()) as { error?: string }).error]).to.deep.equal([400, 'invalid_client_metadata']);
    const tooLarge = await register(app, { redirect_uris: uris(900) });
    expect([tooLarge.status, tooLarge.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    expect(tooLarge.body.error_description).to.include('16 KiB');
    const padded = await register(app, { redirect_uris: ['https://app.example.com/cb'], contacts: Array.from({ length: 40 }, (_, i) => `c${i}${'y'.repeat(500)}@example.com`) });
    expect([padded.status, padded.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    const created = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: uris(700) });
    expect(created.status).to.equal(201);
    const grown = await h.admin('PATCH', `/admin/apps/${app.app_id}/clients/${created.body.client_id}`, { post_logout_redirect_uris: uris(100) });
    expect([grown.status, grown.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    expect(await clientsOf(app)).to.have.length(3);
    expect((await h.admin('GET', `/admin/apps/${app.app_id}/clients/${created.body.client_id}`)).body.post_logout_redirect_uris ?? []).to.deep.equal([]);
  });

  it('null turns it off again; clients registered openly stay', async () => {
    const app = await h.createApp(policy());
    expect((await register(app, ok)).status).to.equal(201);
    const off = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { open_registration: null });
    expect(off.body.open_registration).to.equal(null);
    expect((await register(app, ok)).status).to.equal(401);
    expect(await clientsOf(app)).to.have.length(2);
  });

  it('the admin API refuses malformed policies, naming the field, and changes nothing', async () => {
    const app = await h.createApp();
    const bad: unknown[] = [
      [],
      'yes',
      { redirect_uri_hosts: ['app.example.com'] },
      { redirect_uri_hosts: ['app.example.com'], max_clients: 0 },
      { redirect_uri_hosts: ['app.example.com'], max_clients: 51 },
      { redirect_uri_hosts: ['app.example.com'], max_clients: '3' },
      { redirect_uri_hosts: [], max_clients: 3 },
      { redirect_uri_hosts: ['https://app.example.com'], max_clients: 3 },
      { redirect_uri_hosts: ['app.example.com:8443'], max_clients: 3 },
      { redirect_uri_hosts: ['app.example.com'], max_clients: 3, client_types: [] },
      { redirect_uri_hosts: ['app.example.com'], max_clients: 3, client_types: ['private'] },
      { redirect_uri_hosts: ['app.example.com'], max_clients: 3, __proto__x: 1 },
    ];
    for (const value of bad) {
      const res = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { open_registration: value });
      expect(res.status, JSON.stringify(value)).to.equal(400);
      expect(res.body.error_description, JSON.stringify(value)).to.include('open_registration');
    }
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.open_registration).to.equal(null);
  });
});

describe('open registration behind a trusted proxy', function () {
  this.timeout(60_000);
  const h = new Harness();
  before(() => h.start({ TRUST_PROXY: 'true' }));
  after(() => h.stop());

  it('counts one IPv6 /64 as one client: a subscriber holds the whole network', async () => {
    const app = await h.createApp({ open_registration: { redirect_uri_hosts: ['app.example.com'], max_clients: 50 } });
    const register = (from: string) =>
      fetch(`${app.issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
      }).then(async (res) => (await res.body?.cancel(), res.status));
    const statuses: number[] = [];
    for (let i = 1; i <= OPEN_REGISTRATIONS_PER_IP + 1; i++) statuses.push(await register(`2001:db8:1:2::${i.toString(16)}`));
    expect(statuses).to.deep.equal([...Array<number>(OPEN_REGISTRATIONS_PER_IP).fill(201), 429]);
    // The next /64 is another client.
    expect(await register('2001:db8:1:3::1')).to.equal(201);
  });
});
