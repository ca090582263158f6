// With Redis and MongoDB together. Removing an account's documents (sign out everywhere,
// the admin's sign-out) touches both. Redis (sessions, access tokens) goes first: when it
// fails, the durable part (grants, refresh tokens) is still there, so the caller's retry
// still finds the refresh token it signs out with and finishes the removal; when MongoDB
// fails after it, the sessions Redis removed are still notified. Readiness names whichever
// store is down. There is no MongoDB server on this machine: the memory store, or a second
// real Redis, stands in for it; Redis is a real one, paused or held up mid-request.
import { expect } from 'chai';
import { createLogger } from '../../src/log.ts';
import { ReadinessProbe } from '../../src/http/readiness-probe.ts';
import { splitStores } from '../../src/storage/open-stores.ts';
import { openRedisStores } from '../../src/storage/redis/open-redis.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { SplitOidcStore } from '../../src/storage/split-oidc-store.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Harness } from '../helpers/harness.ts';
import { LogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

describe('split stores: a real Redis, the memory store standing in for MongoDB', function () {
  this.timeout(20_000);
  const redis = new RedisServer();
  const durable = openMemoryStores();
  let fast: Stores;
  before(async () => {
    await redis.start();
    fast = await openRedisStores(redis.url, createLogger('silent'), 1_000);
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
  describe('signing out when MongoDB fails after Redis removed its part (a second real Redis stands in for MongoDB)', () => {
    const mongoLike = new RedisServer();
    // While `holding`, the stand-in's look-up of an account's documents (the durable half of a
    // sign-out, after Redis's) is held past the store deadline: MongoDB failing in between.
    let holding = false;
    let proxy: TcpProxy;
    const h = new Harness();
    const rp = new LogoutReceiver();
    before(async () => {
      await mongoLike.start();
      proxy = await new TcpProxy(mongoLike.port, (chunk) => (holding && chunk.includes('acct-docs') ? 3_000 : 0)).listen();
      await rp.start();
      await h.start({ STORE_TIMEOUT_MS: '1000' }, {
        // Retried for a few seconds: delivery reads the app from the stand-in, reconnecting.
        backchannel: { retryDelaysMs: [100, 200, 400, 800, 1_600, 3_200] },
        openStores: async (config, logger) =>
          splitStores(
            { ...(await openRedisStores(proxy.redisUrl, logger, config.storeTimeoutMs)), kind: 'mongodb' },
            await openRedisStores(redis.url, logger, config.storeTimeoutMs),
          ),
      });
    });
    after(async () => {
      await h.stop();
      await rp.stop();
      await proxy.close();
      await mongoLike.destroy();
    });

    it('tells the clients of the sessions already removed at once, answers 503, and the retry finishes the sign-out', async () => {
      const app = await h.createApp({ backchannel_logout_uri: rp.url });
      const { config, tokens } = await h.signIn(app, 'split@example.com', { scope: 'openid offline_access' });
      const { sid } = decodeJwt(tokens.id_token!) as { sid: string };

      holding = true;
      const failed = await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'split@example.com' }).finally(() => (holding = false));
      expect(failed.status).to.equal(503);
      // The session is gone from Redis: no retry would find it, so its client hears now
      // (delivery reads the app from MongoDB, and is retried until that connection is back).
      await rp.until('a logout token', () => rp.tokens.length > 0, 10_000);
      expect(rp.tokens, 'logout tokens after the failed sign-out').to.have.length(1);
      expect((await verifyLogoutToken(rp.tokens[0]!, app)).sid).to.equal(sid);
      expect(await oidc.refreshTokenGrant(config, tokens.refresh_token!).then(() => 'refreshed'), 'the grant, in MongoDB, is still there').to.equal('refreshed');

      let retried: Awaited<ReturnType<Harness['admin']>> | undefined;
      for (let i = 0; i < 50 && retried?.status !== 200; i++) {
        retried = await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'split@example.com' });
        if (retried.status !== 200) await new Promise((r) => setTimeout(r, 100)); // the dropped connection coming back
      }
      expect(retried?.status).to.equal(200);
      expect(retried?.body).to.include({ grants_revoked: 1, sessions_ended: 0 });
      const refused = await oidc.refreshTokenGrant(config, tokens.refresh_token!).then(() => undefined, (err: unknown) => err);
      expect(refused, 'the grant went with the retry').to.have.property('error', 'invalid_grant');
    });
  });
});
