// Rate limiters from rate-limiter-flexible on whichever store holds short-lived data, so
// every instance counts against the same numbers. Limiters are cached per (name, limit,
// window): a per-app limit is just another entry sharing the counters' key prefix.
import type { Redis } from 'ioredis';
import type { MongoClient } from 'mongodb';
import { RateLimiterMemory, RateLimiterMongo, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { guard, type StoreProbe } from './guard.ts';
import { redisLimitHits } from './redis/redis-limit-hits.ts';
import type { GroupedHit, RateLimiter } from './ports.ts';

/** A network backend's limiters report their commands to the probe of the stores they belong to. */
export type LimiterBackend = { kind: 'memory' } | { kind: 'redis'; client: Redis; probe: StoreProbe } | { kind: 'mongodb'; client: MongoClient; probe: StoreProbe };

/** A refund is not made in the last second of a window (`refund`). */
const REFUND_MARGIN_MS = 1_000;

export function rateLimiterFactory(backend: LimiterBackend) {
  const cache = new Map<string, RateLimiter>();
  // On Redis, hits go through one script per turn of the event loop (redis-limit-hits.ts).
  const redisHit = backend.kind === 'redis' ? redisLimitHits(backend.client) : undefined;
  return (name: string, points: number, durationSeconds: number): RateLimiter => {
    const id = `${name}:${points}:${durationSeconds}`;
    const cached = cache.get(id);
    if (cached) return cached;
    const options = { keyPrefix: `postern-rl:${name}`, points, duration: durationSeconds };
    const limiter: RateLimiterAbstract =
      backend.kind === 'redis'
        ? new RateLimiterRedis({ ...options, storeClient: backend.client })
        : backend.kind === 'mongodb'
          ? new RateLimiterMongo({ ...options, storeClient: backend.client, dbName: backend.client.db().databaseName, tableName: 'rate_limits' })
          : new RateLimiterMemory(options);
    const count = async (key: string) => {
      try {
        await limiter.consume(key);
        return true;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return false;
        throw rejection; // a store error: the guard turns it into StoreUnavailableError
      }
    };
    const wrapped: RateLimiter = {
      hit(key: string, grouped?: GroupedHit) {
        const answer = redisHit
          ? redisHit(`${options.keyPrefix}:${key}`, durationSeconds, points, grouped)
          : grouped?.last
            ? grouped.group.afterTheOthers(() => count(key))
            : count(key);
        // Pushed before anything is awaited: a `last` hit asked for next sees this one.
        if (grouped && !grouped.last) grouped.group.answers.push(answer);
        return answer;
      },
      async exhausted(key: string) {
        const state = await limiter.get(key);
        return state !== null && state.consumedPoints >= points;
      },
      async refund(key: string) {
        // Only while the hit's window lasts, with a margin for the round trip between the
        // read and the reward: a reward after the window ended would start the next one at
        // -1, raising its allowance. Near the end of a window the point is left counted.
        const state = await limiter.get(key);
        if (state !== null && state.consumedPoints > 0 && state.msBeforeNext > REFUND_MARGIN_MS) await limiter.reward(key, 1);
      },
    };
    // Store errors of a shared store surface as StoreUnavailableError (→ 503), once per limiter.
    const ready = backend.kind === 'memory' ? wrapped : guard(backend.kind, wrapped, backend.probe, 'rate_limits');
    cache.set(id, ready);
    return ready;
  };
}
