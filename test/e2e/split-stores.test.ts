// With Redis and MongoDB together. Removing an account's documents (sign out everywhere,
// the admin's sign-out) touches both. Redis (sessions, access tokens) goes first: when it
// fails, the durable part (grants, refresh tokens) is still there, so the caller's retry
// still finds the refresh token it signs out with and finishes the removal. Here the memory
// store stands in for MongoDB (no MongoDB server on this machine); Redis is a real one,
// paused mid-request.
import { expect } from 'chai';
import { createLogger } from '../../src/log.ts';
import { ReadinessProbe } from '../../src/http/readiness-probe.ts';
import { splitStores } from '../../src/storage/open-stores.ts';
import { openRedisStores } from '../../src/storage/redis/open-redis.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { SplitOidcStore } from '../../src/storage/split-oidc-store.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';

describe('split stores: a real Redis, the memory store standing in for MongoDB', function () {
  this.timeout(20_000);
  const redis = new RedisServer();
  const durable = openMemoryStores();
  let fast: Stores;
  before(async () => {
    await redis.start();
    fast = await openRedisStores(redis.url, createLogger('silent'), 200);
  });
  after(async () => {
    redis.resume();
    await fast?.close();
    await durable.close();
    await redis.destroy();
  });

  it('removes nothing durable when Redis fails, so a retry finds the refresh token and finishes', async () => {
    const store = new SplitOidcStore(durable.oidc, fast.oidc);
    const app = 'split-app';
    await store.upsert(app, 'Grant', 'grant-1', { accountId: 'ada@example.com', jti: 'grant-1' }, 3600);
    await store.upsert(app, 'RefreshToken', 'refresh-1', { accountId: 'ada@example.com', grantId: 'grant-1', jti: 'refresh-1' }, 3600);
    await store.upsert(app, 'Session', 'session-1', { accountId: 'ada@example.com', uid: 'uid-1', jti: 'session-1' }, 3600);

    redis.pause();
    let failed: unknown;
    await store.destroyByAccount(app, 'ada@example.com').catch((err: unknown) => (failed = err));
    redis.resume();
    expect(failed, 'the removal failed with Redis').to.be.instanceOf(Error);
    expect(await store.find(app, 'RefreshToken', 'refresh-1'), 'the refresh token a retry signs out with').not.to.equal(undefined);
    expect(await store.find(app, 'Grant', 'grant-1')).not.to.equal(undefined);

    // The retry, with Redis back.
    let removed: Awaited<ReturnType<SplitOidcStore['destroyByAccount']>> | undefined;
    for (let i = 0; i < 50 && !removed; i++) {
      removed = await store.destroyByAccount(app, 'ada@example.com').catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 100)); // Redis reconnecting
        return undefined;
      });
    }
    expect(removed, 'the retry finished').not.to.equal(undefined);
    for (const [model, id] of [['Grant', 'grant-1'], ['RefreshToken', 'refresh-1'], ['Session', 'session-1']] as const) {
      expect(await store.find(app, model, id), `${model} after the retry`).to.equal(undefined);
    }
  });

  /** What /readyz would answer after its first ping, for Redis and a durable store standing in for MongoDB. */
  async function readiness(standIn: Stores) {
    const stores = splitStores(standIn, fast);
    const probe = new ReadinessProbe({ ping: () => stores.ping(), unreachable: () => stores.unreachable(), storage: stores.kind });
    try {
      return await probe.current();
    } finally {
      probe.close();
    }
  }

  it('names MongoDB alone when MongoDB stalls (its own ping waits longer than the readiness deadline), Redis alone when Redis does', async () => {
    const answering = { ...durable, kind: 'mongodb' };
    expect(await readiness(answering)).to.deep.equal({ ready: true });
    // A MongoDB that accepts the ping and never answers.
    const stalled = { ...answering, ping: () => new Promise<void>(() => {}) };
    expect(await readiness(stalled)).to.deep.equal({ ready: false, unavailable: 'mongodb' });
    redis.pause();
    try {
      expect(await readiness(answering)).to.deep.equal({ ready: false, unavailable: 'redis' });
    } finally {
      redis.resume();
    }
  });
});
