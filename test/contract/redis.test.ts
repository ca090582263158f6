import { expect } from 'chai';
import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { redisAtRest } from './at-rest.ts';
import { storeContract } from './store-contract.ts';
import { realTime } from './store-time.ts';

const redis = new RedisServer();
before(async () => {
  await redis.start();
});
after(() => redis.destroy());

storeContract('redis', () => openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent')), realTime, () => redisAtRest(redis.url));

describe('redis driver while Redis is down', () => {
  const down = new RedisServer();
  let stores: Stores;
  before(async () => {
    await down.start();
    stores = await openStores({ redisUrl: down.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'));
    await down.stop();
  });
  after(async () => {
    await stores?.close();
    await down.destroy();
  });

  it('answers every store, purgeApp and ping with StoreUnavailableError naming redis', async () => {
    const link = { hash: 'h', shortCodeHash: 's', appId: 'a', interactionUid: 'i', email: 'e@example.com', clientId: 'a', createdAt: 1, expiresAt: 2 };
    const calls: Record<string, () => Promise<unknown>> = {
      'apps.list': () => stores.apps.list(),
      'accounts.recordLogin': () => stores.accounts.recordLogin('a', 'e@example.com', 1),
      'oidc.upsert': () => stores.oidc.upsert('a', 'Session', 's', {}, 60),
      'oidc.destroyByAccount': () => stores.oidc.destroyByAccount('a', 'e@example.com'),
      'magicLinks.save': () => stores.magicLinks.save(link, 60),
      'audit.query': () => stores.audit.query('a', { limit: 1 }),
      purgeApp: () => stores.purgeApp('a'),
      ping: () => stores.ping(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, name).to.be.instanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).store, name).to.equal('redis');
    }
  });
});
