// MongoDB has no Debian package and cannot be installed on our CI machines: these suites
// run wherever MONGODB_URI points at a server (its database is used for the test), and
// say so visibly when they are skipped.
import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { mongoAtRest, redisAtRest } from './at-rest.ts';
import { outboxContract } from './outbox-contract.ts';
import { storeContract } from './store-contract.ts';
import { realTime } from './store-time.ts';

const uri = process.env.MONGODB_URI;

if (!uri) {
  describe('storage contract: mongodb, redis+mongodb', () => {
    it('SKIPPED: set MONGODB_URI (e.g. mongodb://127.0.0.1:27017/postern_test) to run the MongoDB contract suites', function () {
      this.skip();
    });
  });
} else {
  storeContract('mongodb', () => openStores({ redisUrl: undefined, mongodbUri: uri, storeTimeoutMs: 2_000 }, createLogger('silent')), realTime, () => mongoAtRest(uri));
  outboxContract('mongodb', () => openStores({ redisUrl: undefined, mongodbUri: uri, storeTimeoutMs: 2_000 }, createLogger('silent')), () => mongoAtRest(uri));

  describe('redis + mongodb', () => {
    const redis = new RedisServer();
    before(async () => {
      await redis.start();
    });
    after(() => redis.destroy());
    storeContract(
      'redis+mongodb',
      () => openStores({ redisUrl: redis.url, mongodbUri: uri, storeTimeoutMs: 2_000 }, createLogger('silent')),
      realTime,
      async () => `${await redisAtRest(redis.url)}\n${await mongoAtRest(uri)}`,
    );
    outboxContract(
      'redis+mongodb',
      () => openStores({ redisUrl: redis.url, mongodbUri: uri, storeTimeoutMs: 2_000 }, createLogger('silent')),
      async () => `${await redisAtRest(redis.url)}\n${await mongoAtRest(uri)}`,
    );
  });
}
