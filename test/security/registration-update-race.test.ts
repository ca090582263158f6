// Two RFC 7592 updates at once with one registration access token. Each update reads the
// token and the client, then writes the client and rotates the token. Without a check, both
// writes landed (the later one silently replacing the other) and both rotations handed out
// a new token, so one token became two. test/helpers/race.ts makes both read the token
// before either goes on, every time.
import { expect } from 'chai';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { bothReadBeforeEitherUses } from '../helpers/race.ts';

describe('two RFC 7592 updates at once with one registration access token', () => {
  const h = new Harness();
  let app: AppJson;
  let registered: { client_id: string; registration_client_uri: string; registration_access_token: string };
  before(async () => {
    await h.start({}, {
      openStores: async (_config, _logger) => {
        const memory = openMemoryStores(h.clock);
        return { ...memory, oidc: bothReadBeforeEitherUses(memory.oidc, 'RegistrationAccessToken') };
      },
    });
    app = await h.createApp();
    const minted = await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { policy: { redirect_uri_hosts: ['app.example.com'] } });
    const res = await fetch(`${app.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.body.initial_access_token}` },
      body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], client_name: 'Raced' }),
    });
    expect(res.status).to.equal(201);
    registered = (await res.json()) as typeof registered;
  });
  after(() => h.stop());

  const manage = (method: string, token: string, body?: unknown) =>
    fetch(registered.registration_client_uri, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));

  it('applies one, refuses the other with 409 and nothing written, and leaves exactly one working token', async () => {
    const update = (client_name: string) =>
      manage('PUT', registered.registration_access_token, { client_id: registered.client_id, redirect_uris: ['https://app.example.com/cb'], client_name });
    const answers = await Promise.all([update('First'), update('Second')]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses, JSON.stringify(answers.map((a) => a.body))).to.deep.equal([200, 409]);
    const applied = answers.find((a) => a.status === 200)!.body;
    const refused = answers.find((a) => a.status === 409)!.body;
    expect(refused.error).to.equal('invalid_request');
    expect(refused.error_description).to.match(/changed by another request/);
    expect(refused).to.not.have.property('registration_access_token');

    const stored = await h.admin('GET', `/admin/apps/${app.app_id}/clients/${registered.client_id}`);
    expect(stored.body.client_name).to.equal(applied.client_name);
    expect((await manage('GET', applied.registration_access_token)).status).to.equal(200);
    expect((await manage('GET', registered.registration_access_token)).status, 'the rotated token').to.equal(401);

    await h.server.audit.flushed();
    const audited = (await h.admin('GET', `/admin/apps/${app.app_id}/audit?limit=200`)).body.events as { type: string; client_id?: string }[];
    expect(audited.filter((e) => e.type === 'client.updated' && e.client_id === registered.client_id)).to.have.length(1);
  });
});
