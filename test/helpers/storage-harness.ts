// A Harness on the memory store or on a Redis of its own, started before a suite's tests and
// stopped after them: the set-up of every suite that runs once per store.
import { Harness } from './harness.ts';
import { RedisServer } from './redis-server.ts';

/**
 * Registers the suite's `before` and `after` hooks (call it first in the `describe`): the
 * Harness is started by the time the suite's own `before` hooks run.
 */
export function harnessOn(storage: 'memory' | 'redis'): { h: Harness; redis: RedisServer } {
  const h = new Harness();
  const redis = new RedisServer();
  before(async () => {
    if (storage === 'redis') await redis.start();
    await h.start(storage === 'redis' ? { REDIS_URL: redis.url } : {});
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });
  return { h, redis };
}
