// A fault never signs a user out. The engine marks a refresh token used before it saves
// the successor; when the store or the process dies in between, the client's retry with
// the same token must get tokens, not invalid_grant (and later a revoked grant). First
// the exact moment, made to happen every time; then storms of refresh chains against
// real processes while Redis or a Postern instance is killed.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { StoreUnavailableError, type OidcStore, type Stores } from '../../src/storage/ports.ts';
import { Engine } from '../engine/engine-fixture.ts';
import type { AppJson } from '../helpers/harness.ts';
import { Cluster } from '../helpers/instance.ts';
import { withMethods } from '../helpers/with-methods.ts';

/** What the store answers once it has died. */
const storeDown = () => new StoreUnavailableError('redis', new Error('connection lost'));

/** The store, whose next save of a refresh token fails once `arm` is called, as if it died right then. */
function failingNextRefreshSave(inner: OidcStore): { store: OidcStore; arm(): void } {
  let armed = false;
  const store = withMethods(inner, {
    upsert: (upsert) => async (...args) => {
      if (armed && args[1] === 'RefreshToken') {
        armed = false;
        throw storeDown();
      }
      return upsert(...args);
    },
  });
  return { store, arm: () => void (armed = true) };
}

function errorOf(err: unknown): string {
  return (err as { error?: string }).error ?? String(err);
}

describe('refresh across faults', function () {
  this.timeout(30_000);

  describe('the store fails after the token was marked used, before its successor was saved', () => {
    const e = new Engine();
    let stores: Stores;
    let faulty: ReturnType<typeof failingNextRefreshSave>;
    before(async () => {
      const memory = openMemoryStores();
      faulty = failingNextRefreshSave(memory.oidc);
      stores = { ...memory, oidc: faulty.store };
      await e.start({ stores });
    });
    after(async () => {
      await e.stop();
      await stores.close();
    });

    it('answers 503, and the retry with the same token gets tokens and carries the chain on', async () => {
      const { config, tokens } = await e.signIn('fault@example.com', 'openid offline_access');
      faulty.arm();
      const failed = await oidc.refreshTokenGrant(config, tokens.refresh_token!).then(
        () => 'no error',
        (err: { cause?: { status?: number } }) => err.cause?.status,
      );
      expect(failed).to.equal(503);
      expect((await stores.oidc.find(e.app.id, 'RefreshToken', tokens.refresh_token!))?.consumed, 'marked used').to.be.a('number');
      const retried = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      const next = await oidc.refreshTokenGrant(config, retried.refresh_token!);
      expect((await oidc.tokenIntrospection(config, next.access_token)).active).to.equal(true);
    });
  });
});

/** The store, whose revocations of a grant fail once `arm` is called, as if it died right then. */
function failingGrantRevocation(inner: OidcStore): { store: OidcStore; arm(): void; disarm(): void } {
  let armed = false;
  const store = withMethods(inner, {
    revokeByGrantId: (revoke) => async (...args) => {
      if (armed) throw storeDown();
      return revoke(...args);
    },
    destroy: (destroy) => async (...args) => {
      if (armed && args[1] === 'Grant') throw storeDown();
      return destroy(...args);
    },
  });
  return { store, arm: () => void (armed = true), disarm: () => void (armed = false) };
}

describe('RFC 7009 revocation across a fault', function () {
  this.timeout(30_000);
  // The engine removes the presented token before it revokes the token's grant (A71). Were
  // the token gone when the grant's revocation failed, the client's retry of the 503 would
  // find nothing, answer 200, and leave the grant and its other tokens alive.
  const e = new Engine();
  let stores: Stores;
  let faulty: ReturnType<typeof failingGrantRevocation>;
  before(async () => {
    const memory = openMemoryStores();
    faulty = failingGrantRevocation(memory.oidc);
    stores = { ...memory, oidc: faulty.store };
    await e.start({ stores });
  });
  after(async () => {
    await e.stop();
    await stores.close();
  });

  const statusOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 200,
      (err: { cause?: { status?: number } }) => err.cause?.status,
    );

  it("answers 503 and keeps the token, so the retry revokes the grant: a thief's chain from the revoked token ends too", async () => {
    const { config, tokens } = await e.signIn('revoke-fault@example.com', 'openid offline_access');
    // Someone refreshed with the token first; the client revokes the token it holds.
    const thief = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    faulty.arm();
    expect(await statusOf(oidc.tokenRevocation(config, tokens.refresh_token!))).to.equal(503);
    faulty.disarm();
    expect(await stores.oidc.find(e.app.id, 'RefreshToken', tokens.refresh_token!), 'the presented token is still stored').to.not.equal(undefined);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect(await stores.oidc.find(e.app.id, 'RefreshToken', tokens.refresh_token!)).to.equal(undefined);
    const refused = await oidc.refreshTokenGrant(config, thief.refresh_token!).then(
      () => 'no error',
      (err: unknown) => errorOf(err),
    );
    expect(refused).to.equal('invalid_grant');
    expect((await oidc.tokenIntrospection(config, thief.access_token)).active).to.equal(false);
  });

  it('does the same for an access token: the retry ends its refresh token', async () => {
    const { config, tokens } = await e.signIn('revoke-fault-at@example.com', 'openid offline_access');
    faulty.arm();
    expect(await statusOf(oidc.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' }))).to.equal(503);
    faulty.disarm();
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active, 'still active until the revocation succeeds').to.equal(true);
    await oidc.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).to.equal(false);
  });
});

/** Refreshes one chain `times` times; retries the same token on anything but invalid_grant. */
async function runChain(config: oidc.Configuration, first: string, times: number, deadline: number, progress: { done: number }) {
  let token = first;
  for (let done = 0; done < times; ) {
    try {
      token = (await oidc.refreshTokenGrant(config, token)).refresh_token!;
      done++;
      progress.done++;
    } catch (err) {
      if (errorOf(err) === 'invalid_grant') return `signed out after ${done} refreshes`;
      if (performance.now() > deadline) return `still failing at the deadline: ${errorOf(err)}`;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return undefined;
}

describe('refresh storms while processes die (real Redis, real Postern processes)', function () {
  this.timeout(120_000);
  const CHAINS = 12;
  const REFRESHES = 12;
  const cluster = new Cluster();
  const { redis, lb, h, instances } = cluster;
  let app: AppJson;

  before(async () => {
    await cluster.start(2);
    app = await h.createApp({ name: 'Storm App' });
  });
  after(() => cluster.stop());

  /** Signs in CHAINS times, then refreshes every chain REFRESHES times at once while `fault` runs. */
  async function storm(fault: () => Promise<void>) {
    const chains = [];
    for (let i = 0; i < CHAINS; i++) chains.push(await h.signIn(app, `storm-${i}@example.com`, { scope: 'openid offline_access' }));
    const deadline = performance.now() + 60_000;
    const progress = { done: 0 };
    const running = chains.map((c) => runChain(c.config, c.tokens.refresh_token!, REFRESHES, deadline, progress));
    // The fault strikes mid-storm: once every chain has refreshed a few times on average.
    while (progress.done < CHAINS * 3) await new Promise((r) => setTimeout(r, 10));
    await fault();
    return (await Promise.all(running)).filter((lost) => lost !== undefined);
  }

  it('loses no chain when Redis is killed with SIGKILL mid-storm and comes back', async () => {
    const lost = await storm(async () => {
      await redis.kill();
      await redis.start();
    });
    expect(lost).to.deep.equal([]);
  });

  it('loses no chain when the instance serving the storm is killed with SIGKILL', async () => {
    lb.target = 0;
    const lost = await storm(async () => {
      lb.target = 1;
      await instances[0]!.kill('SIGKILL');
    });
    expect(lost).to.deep.equal([]);
    await instances[0]!.start();
  });
});
