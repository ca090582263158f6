// The logout and login endpoints an app registers (backchannel_logout_uri,
// backchannel_logout_session_required, initiate_login_uri): what the admin API accepts,
// shows and refuses (hostile URIs, wrong types, front-channel logout), in development and
// production; and the admin sign-out endpoint against hostile input.
import { expect } from 'chai';
import { parseCreateApp } from '../../src/admin/app-input.ts';
import { PosternError } from '../../src/errors.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { expectClean4xx } from './support.ts';

const LONG = `https://rp.example.com/${'a'.repeat(2_000)}`;

/** backchannel_logout_uri values refused in every mode, with a word of the reason. */
const HOSTILE_BACKCHANNEL: readonly [unknown, RegExp][] = [
  ['http://rp.example.com/logout', /must use https/],
  ['http://localhost.evil.example/logout', /must use https/],
  ['http://10.0.0.7/logout', /must use https/],
  ['https://rp.example.com/logout#frag', /fragment/],
  ['https://rp.example.com/logout#', /fragment/],
  ['javascript:alert(1)', /https/],
  ['JAVASCRIPT:alert(1)', /https/],
  ['data:text/html,hi', /https/],
  ['com.example.app:/logout', /https/],
  ['https:rp.example.com/logout', /https:\/\/ and a host/],
  ['https://user:pass@rp.example.com/logout', /credentials/],
  ['https://rp.example.com/log out', /spaces/],
  ['https://rp.example.com/logout\n', /control/],
  ['https://rp.example.com/\u202Egol', /bidi/],
  ['https://rp.example.com\\logout', /backslash/],
  ['https://*.example.com/logout', /wildcard/],
  ['/relative/logout', /absolute/],
  [LONG, /2000 characters/],
  ['', /non-empty/],
  [42, /non-empty string/],
  [['https://rp.example.com/logout'], /non-empty string/],
  [{ uri: 'https://rp.example.com/logout' }, /non-empty string/],
];

describe('logout metadata in the admin API (development)', function () {
  this.timeout(30_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  const appCount = async () => ((await h.admin('GET', '/admin/apps')).body.apps as unknown[]).length;
  const create = (fields: Record<string, unknown>) => h.admin('POST', '/admin/apps', { name: 'Metadata App', redirect_uris: [REDIRECT_URI], ...fields });

  function expectRefused(reply: { status: number; body: any; headers: Headers }, field: string, reason: RegExp, label: string) {
    expectClean4xx({ status: reply.status, contentType: reply.headers.get('content-type') ?? '', body: JSON.stringify(reply.body) }, label, 400);
    expect(reply.body.error, label).to.equal('invalid_client_metadata');
    expect(reply.body.error_description, label).to.include(field).and.match(reason);
  }

  it('stores and shows the endpoints, defaults when absent, changes and removes them by PATCH', async () => {
    const plain = await h.createApp();
    expect(plain).to.include({ backchannel_logout_uri: null, backchannel_logout_session_required: false, initiate_login_uri: null });
    const app = await h.createApp({
      backchannel_logout_uri: 'https://rp.example.com/backchannel?tenant=a',
      backchannel_logout_session_required: true,
      initiate_login_uri: 'https://rp.example.com/login?from=idp',
    });
    const shown = (await h.admin('GET', `/admin/apps/${app.app_id}`)).body as AppJson;
    expect(shown).to.include({
      backchannel_logout_uri: 'https://rp.example.com/backchannel?tenant=a',
      backchannel_logout_session_required: true,
      initiate_login_uri: 'https://rp.example.com/login?from=idp',
    });
    const changed = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { backchannel_logout_uri: 'https://rp.example.com/bcl', backchannel_logout_session_required: false });
    expect(changed.status).to.equal(200);
    expect(changed.body).to.include({ backchannel_logout_uri: 'https://rp.example.com/bcl', backchannel_logout_session_required: false, initiate_login_uri: 'https://rp.example.com/login?from=idp' });
    const removed = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { backchannel_logout_uri: null, initiate_login_uri: null });
    expect(removed.body).to.include({ backchannel_logout_uri: null, initiate_login_uri: null });
    const renamed = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { name: 'Renamed' });
    expect(renamed.body, 'other changes leave them alone').to.include({ name: 'Renamed', backchannel_logout_uri: null, backchannel_logout_session_required: false });
  });

  it('accepts a back-channel logout URI on a loopback host over http outside production, in any spelling of the scheme and address', async () => {
    for (const uri of ['http://127.0.0.1:9000/logout', 'http://localhost:9000/logout', 'http://[::1]:9000/logout', 'HTTP://127.0.0.1:9000/logout', 'HTTPS://RP.example.com/logout']) {
      const reply = await create({ backchannel_logout_uri: uri });
      expect(reply.status, `${uri}: ${JSON.stringify(reply.body)}`).to.equal(201);
      expect(reply.body.backchannel_logout_uri, 'stored as sent').to.equal(uri);
    }
  });

  it('refuses hostile back-channel logout URIs on create and on PATCH, naming the field, storing nothing', async () => {
    const app = await h.createApp({ backchannel_logout_uri: 'https://rp.example.com/keep' });
    const before = await appCount();
    for (const [uri, reason] of HOSTILE_BACKCHANNEL) {
      const label = JSON.stringify(uri).slice(0, 80);
      expectRefused(await create({ backchannel_logout_uri: uri }), 'backchannel_logout_uri', reason, `create ${label}`);
      expectRefused(await h.admin('PATCH', `/admin/apps/${app.app_id}`, { backchannel_logout_uri: uri }), 'backchannel_logout_uri', reason, `PATCH ${label}`);
    }
    expect(await appCount()).to.equal(before);
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.backchannel_logout_uri).to.equal('https://rp.example.com/keep');
  });

  it("a further client's back-channel logout URI passes the same rules: hostile ones refused on create and on PATCH, the stored one kept", async () => {
    const app = await h.createApp();
    const clients = `/admin/apps/${app.app_id}/clients`;
    const kept = await h.admin('POST', clients, { redirect_uris: [REDIRECT_URI], backchannel_logout_uri: 'https://rp.example.com/keep' });
    expect(kept.status).to.equal(201);
    for (const [uri, reason] of HOSTILE_BACKCHANNEL) {
      const label = JSON.stringify(uri).slice(0, 80);
      expectRefused(await h.admin('POST', clients, { redirect_uris: [REDIRECT_URI], backchannel_logout_uri: uri }), 'backchannel_logout_uri', reason, `client create ${label}`);
      expectRefused(await h.admin('PATCH', `${clients}/${kept.body.client_id}`, { backchannel_logout_uri: uri }), 'backchannel_logout_uri', reason, `client PATCH ${label}`);
    }
    expect((await h.admin('GET', clients)).body.clients).to.have.length(2);
    expect((await h.admin('GET', `${clients}/${kept.body.client_id}`)).body.backchannel_logout_uri).to.equal('https://rp.example.com/keep');
  });

  it('refuses a null back-channel URI at creation, and anything but a boolean for backchannel_logout_session_required', async () => {
    expectRefused(await create({ backchannel_logout_uri: null }), 'backchannel_logout_uri', /non-empty string/, 'null at creation');
    for (const value of ['true', 1, null, {}]) {
      expectRefused(await create({ backchannel_logout_session_required: value }), 'backchannel_logout_session_required', /true or false/, JSON.stringify(value));
    }
  });

  it('accepts an https initiate_login_uri and refuses any other (http, even on a loopback host; script schemes; fragments)', async () => {
    expect((await create({ initiate_login_uri: 'https://rp.example.com/start' })).status).to.equal(201);
    for (const [uri, reason] of [
      ['http://localhost:8080/start', /must use https/],
      ['http://rp.example.com/start', /must use https/],
      ['javascript:alert(document.domain)', /must use https/],
      ['https://rp.example.com/start#x', /fragment/],
      [LONG, /2000 characters/],
      [7, /non-empty string/],
    ] as const) {
      expectRefused(await create({ initiate_login_uri: uri }), 'initiate_login_uri', reason, String(uri).slice(0, 60));
    }
  });

  it('refuses front-channel logout in so many words, on create and PATCH', async () => {
    const app = await h.createApp();
    for (const field of ['frontchannel_logout_uri', 'frontchannel_logout_session_required']) {
      const value = field.endsWith('uri') ? 'https://rp.example.com/fcl' : true;
      for (const reply of [await create({ [field]: value }), await h.admin('PATCH', `/admin/apps/${app.app_id}`, { [field]: value })]) {
        expectRefused(reply, field, /not supported/, field);
        expect(reply.body.error_description).to.include('backchannel_logout_uri');
      }
    }
  });

  it('refuses any other frontchannel_logout_ name as an unknown field, on a client too, and stores nothing', async () => {
    const app = await h.createApp();
    const clients = `/admin/apps/${app.app_id}/clients`;
    const client = await h.admin('POST', clients, { redirect_uris: ['https://rp.example.com/cb'] });
    expect(client.status).to.equal(201);
    for (const field of ['frontchannel_logout_url', 'frontchannel_logout_junk', 'frontchannel_logout_uri_2']) {
      for (const reply of [
        await create({ [field]: 'https://rp.example.com/fcl' }),
        await h.admin('PATCH', `/admin/apps/${app.app_id}`, { [field]: 'https://rp.example.com/fcl' }),
        await h.admin('POST', clients, { redirect_uris: ['https://rp.example.com/cb'], [field]: { any: ['json'] } }),
        await h.admin('PATCH', `${clients}/${client.body.client_id}`, { [field]: 'x' }),
      ]) {
        expect(reply.status, field).to.equal(400);
        expect(reply.body.error_description).to.include(`Unknown field "${field}"`);
      }
    }
    expect((await h.admin('GET', clients)).body.clients).to.have.length(2);
    expect((await h.admin('GET', `${clients}/${client.body.client_id}`)).body).to.not.have.any.keys('frontchannel_logout_url', 'frontchannel_logout_junk', 'frontchannel_logout_uri_2');
  });
});

describe('logout metadata in the admin API (production)', function () {
  this.timeout(30_000);
  const h = new Harness();
  const redis = new RedisServer();
  before(async () => {
    await redis.start();
    await h.start({ NODE_ENV: 'production', PUBLIC_URL: 'https://login.example.test', REDIS_URL: redis.url });
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('refuses http on a loopback host: Postern would post logout tokens to its own machine', async () => {
    for (const uri of ['http://127.0.0.1:9000/logout', 'http://localhost/logout', 'http://[::1]/logout']) {
      const reply = await h.admin('POST', '/admin/apps', { name: 'Prod App', redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: uri });
      expect(reply.status, uri).to.equal(400);
      expect(reply.body.error_description).to.equal('backchannel_logout_uri must use https.');
    }
    const ok = await h.admin('POST', '/admin/apps', { name: 'Prod App', redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'https://app.example.com/bcl' });
    expect(ok.status).to.equal(201);
  });

  it("refuses it for a further client too, by the admin API and by registration", async () => {
    const app = await h.createApp({ redirect_uris: ['https://app.example.com/cb'] });
    const reply = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'http://127.0.0.1:9000/logout' });
    expect([reply.status, reply.body.error_description]).to.deep.equal([400, 'backchannel_logout_uri must use https.']);
    const token = (await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, {})).body.initial_access_token as string;
    const registered = await fetch(`${h.url}${new URL(app.issuer).pathname}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'http://localhost/logout' }),
    });
    expect(registered.status).to.equal(400);
    expect(await registered.json()).to.deep.include({ error: 'invalid_client_metadata', error_description: 'backchannel_logout_uri must use https.' });
  });

  it('is the rule the input parser applies', () => {
    const body = { name: 'X', redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'http://127.0.0.1/logout' };
    expect(() => parseCreateApp(body, { httpLoopbackEndpoints: false })).to.throw(PosternError, 'must use https');
    expect(parseCreateApp(body, { httpLoopbackEndpoints: true }).backchannelLogoutUri).to.equal('http://127.0.0.1/logout');
  });
});

describe('admin sign-out endpoint against hostile input', function () {
  this.timeout(30_000);
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start({}, { adminAuthFailuresPerIp: 1_000 });
    app = await h.createApp();
  });
  after(() => h.stop());

  const signOut = (body: unknown, id = app.app_id, token?: string) => h.admin('POST', `/admin/apps/${id}/sign-outs`, body, token);

  it('refuses a request without the admin token, or with another app\'s client secret as the token', async () => {
    const confidential = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    for (const token of ['', 'wrong', confidential.client_secret!]) {
      const reply = await signOut({ email: 'x@example.com' }, app.app_id, token);
      expect(reply.status, token).to.equal(401);
    }
  });

  it('answers 404 for an unknown app or an id that cannot be one', async () => {
    for (const id of ['5d0c1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f', 'not-an-app', app.app_id.toUpperCase()]) {
      expect((await signOut({ email: 'x@example.com' }, id)).status, id).to.equal(404);
    }
  });

  it('refuses bodies that are not one address, with a 4xx that says why', async () => {
    for (const body of [{}, { email: '' }, { email: 'not-an-address' }, { email: 'a@example.com, b@example.com' }, { email: 'a@example.com\r\nBcc: b@example.com' }, { email: ['a@example.com'] }, { email: 'a@example.com', extra: 1 }, [], 'null', '{"email":']) {
      const reply = await signOut(body);
      expectClean4xx({ status: reply.status, contentType: reply.headers.get('content-type') ?? '', body: JSON.stringify(reply.body) }, JSON.stringify(body), 400);
    }
  });

  it('answers zeros for an address with nothing to end, and the same for one in any case', async () => {
    for (const email of ['nobody@example.com', 'NoBody@Example.COM']) {
      const reply = await signOut({ email });
      expect(reply.body, email).to.deep.equal({ grants_revoked: 0, sessions_ended: 0, backchannel_logouts_queued: 0 });
    }
  });
});
