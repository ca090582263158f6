// Dynamic Client Registration (RFC 7591) and its management (RFC 7592) when the store
// fails between the writes of one request. A registration stores a client (spending a use
// of its initial access token) and a registration access token; an update stores the
// client, then replaces the registration access token. Whichever write fails, the caller
// gets 503 and nothing is left half-done: no client that nobody was told of, no token use
// spent for nothing, never a client whose management token is gone, no stray tokens. Each
// fault is made to happen at its exact moment: the next write of its kind fails as if the
// store died right then, with every other write going to the real store. A burst on a
// single-use token, where every loser's write is refused, leaves no stray token either.
import { expect } from 'chai';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { StoreUnavailableError, type AppStore, type OidcStore, type Stores } from '../../src/storage/ports.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { withMethods } from '../helpers/with-methods.ts';

const RAT = 'RegistrationAccessToken';

type Fault = 'token-write' | 'token-removal' | 'client-write';

/** The real stores, with one fault armed at a time, and the registration access tokens they hold. */
class FaultyStores {
  armed: Fault | undefined;
  /** Ids of the registration access tokens stored and not removed. */
  readonly liveTokens = new Set<string>();
  readonly stores: Stores;
  constructor() {
    const real = openMemoryStores();
    this.stores = { ...real, oidc: this.#oidc(real.oidc), apps: this.#apps(real.apps) };
  }

  #fail(fault: Fault): void {
    if (this.armed !== fault) return;
    this.armed = undefined;
    throw new StoreUnavailableError('memory', new Error('connection lost'));
  }

  #oidc(inner: OidcStore): OidcStore {
    return withMethods(inner, {
      upsert: (upsert) => async (...args) => {
        if (args[1] === RAT) this.#fail('token-write');
        await upsert(...args);
        if (args[1] === RAT) this.liveTokens.add(args[2]);
      },
      destroy: (destroy) => async (...args) => {
        if (args[1] === RAT) this.#fail('token-removal');
        await destroy(...args);
        if (args[1] === RAT) this.liveTokens.delete(args[2]);
      },
    });
  }

  #apps(inner: AppStore): AppStore {
    return withMethods(inner, {
      replace: (replace) => async (...args) => {
        this.#fail('client-write');
        return replace(...args);
      },
    });
  }
}

describe('client registration across store faults', function () {
  this.timeout(30_000);
  const h = new Harness();
  const faults = new FaultyStores();
  let app: AppJson;
  before(async () => {
    await h.start({}, { openStores: async () => faults.stores });
    app = await h.createApp();
  });
  after(() => h.stop());

  const mint = async (body: unknown = { max_uses: 'single_use' }) => {
    const res = await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return (res.body as { initial_access_token: string }).initial_access_token;
  };
  const register = (metadata: unknown, token: string) =>
    fetch(`${app.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(metadata),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));
  const manage = (method: string, uri: string, token: string, body?: unknown) =>
    fetch(uri, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, any>) }));
  const clientIds = async () => ((await h.admin('GET', `/admin/apps/${app.app_id}/clients`)).body.clients as { client_id: string }[]).map((c) => c.client_id);

  for (const fault of ['token-write', 'client-write'] as const) {
    it(`a registration whose ${fault === 'token-write' ? 'registration access token' : 'client'} cannot be stored stores nothing, spends no use of its token, and the retry registers`, async () => {
      const token = await mint();
      const [clientsBefore, tokensBefore] = [await clientIds(), faults.liveTokens.size];
      faults.armed = fault;
      const failed = await register({ redirect_uris: [REDIRECT_URI], client_name: 'Retried' }, token);
      expect(faults.armed, 'the armed fault happened').to.equal(undefined);
      expect([failed.status, failed.body.error]).to.deep.equal([503, 'temporarily_unavailable']);
      expect(await clientIds(), 'no client nobody was told of').to.deep.equal(clientsBefore);
      expect(faults.liveTokens.size, 'no stray registration access token').to.equal(tokensBefore);

      const retried = await register({ redirect_uris: [REDIRECT_URI], client_name: 'Retried' }, token);
      expect(retried.status, 'the single-use token still has its use').to.equal(201);
      expect(await clientIds()).to.deep.equal([...clientsBefore, retried.body.client_id]);
      expect(faults.liveTokens.size).to.equal(tokensBefore + 1);
      const read = await manage('GET', retried.body.registration_client_uri, retried.body.registration_access_token);
      expect([read.status, read.body?.client_name]).to.deep.equal([200, 'Retried']);
    });
  }

  it('a refused registration leaves no registration access token behind', async () => {
    const token = await mint({});
    const tokensBefore = faults.liveTokens.size;
    // Each has valid URIs and is refused for the rest of its metadata.
    const refused = await Promise.all(
      [
        { redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['implicit'] },
        { redirect_uris: [REDIRECT_URI], default_max_age: -1 },
        { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['client_credentials'], response_types: [] },
      ].map((metadata) => register(metadata, token)),
    );
    for (const r of refused) expect(r.status, JSON.stringify(r.body)).to.equal(400);
    expect(faults.liveTokens.size).to.equal(tokensBefore);
  });

  it('a parallel burst on a single-use token registers one client and keeps one registration access token', async () => {
    const token = await mint();
    const [clientsBefore, tokensBefore] = [await clientIds(), faults.liveTokens.size];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => register({ redirect_uris: [REDIRECT_URI], client_name: `Burst ${i}` }, token)));
    const winners = results.filter((r) => r.status === 201);
    expect(winners).to.have.length(1);
    expect(results.every((r) => r.status === 201 || r.status === 401), JSON.stringify(results.map((r) => r.status))).to.equal(true);
    expect(await clientIds()).to.deep.equal([...clientsBefore, winners[0]!.body.client_id]);
    expect(faults.liveTokens.size, 'the losers\' tokens are gone').to.equal(tokensBefore + 1);
  });

  for (const fault of ['token-write', 'token-removal'] as const) {
    it(`an update whose ${fault === 'token-write' ? 'new registration access token cannot be stored' : 'old registration access token cannot be removed'} keeps the old token working, and its retry rotates it`, async () => {
      const registered = (await register({ redirect_uris: [REDIRECT_URI], client_name: 'Managed' }, await mint())).body;
      const uri = registered.registration_client_uri as string;
      const old = registered.registration_access_token as string;
      const tokensBefore = faults.liveTokens.size;
      const update = { client_id: registered.client_id, redirect_uris: [REDIRECT_URI], client_name: 'Renamed' };
      faults.armed = fault;
      const failed = await manage('PUT', uri, old, update);
      expect(faults.armed, 'the armed fault happened').to.equal(undefined);
      expect([failed.status, failed.body?.error]).to.deep.equal([503, 'temporarily_unavailable']);
      expect((await manage('GET', uri, old)).status, 'the old token still manages the client').to.equal(200);
      expect(faults.liveTokens.size, 'no stray registration access token').to.equal(tokensBefore);

      const retried = await manage('PUT', uri, old, update);
      expect([retried.status, retried.body?.client_name]).to.deep.equal([200, 'Renamed']);
      expect((await manage('GET', uri, old)).status, 'the old token is spent').to.equal(401);
      expect((await manage('GET', uri, retried.body!.registration_access_token)).status).to.equal(200);
      expect(faults.liveTokens.size).to.equal(tokensBefore);
    });
  }
});
