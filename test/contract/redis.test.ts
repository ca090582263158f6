import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { storeContract } from './store-contract.ts';

const redis = new RedisServer();
before(async () => {
  await redis.start();
});
after(() => redis.destroy());

storeContract('redis', () => openStores({ redisUrl: redis.url, mongodbUri: undefined }, createLogger('silent')));
