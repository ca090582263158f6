// Chooses the storage from configuration: memory (neither URL), Redis, MongoDB, or both
// (durable data in MongoDB, short-lived data and cache invalidation in Redis).
import type { Logger } from '../log.ts';
import { guard } from './guard.ts';
import { LocalChangeBus, openMemoryStores } from './memory/memory-stores.ts';
import { openMongo } from './mongo/open-mongo.ts';
import type { Stores } from './ports.ts';
import { StoreUnavailableError } from './ports.ts';
import { connectRedis, deleteByPrefix, ready } from './redis/open-redis.ts';
import { keys } from './redis/redis-keys.ts';
import { RedisOidcStore } from './redis/redis-oidc-store.ts';
import {
  RedisAccountStore,
  RedisAppStore,
  RedisAuditStore,
  RedisChangeBus,
  RedisMagicLinkStore,
} from './redis/redis-stores.ts';
import { rateLimiterFactory } from './rate-limiters.ts';
import { SplitOidcStore } from './split-oidc-store.ts';

export interface StorageSettings {
  readonly redisUrl: string | undefined;
  readonly mongodbUri: string | undefined;
}

export async function openStores(settings: StorageSettings, logger: Logger): Promise<Stores> {
  const { redisUrl, mongodbUri } = settings;
  if (!redisUrl && !mongodbUri) return openMemoryStores();

  const redis = redisUrl ? connectRedis(redisUrl, logger, 'commands') : undefined;
  const subscriber = redis?.duplicate();
  subscriber?.on('error', () => {}); // reported by the command connection
  if (redis && subscriber) await Promise.all([ready(redis), ready(subscriber)]);
  const mongo = mongodbUri ? await openMongo(mongodbUri) : undefined;

  const r = redis && {
    apps: guard('redis', new RedisAppStore(redis)),
    accounts: guard('redis', new RedisAccountStore(redis)),
    oidc: guard('redis', new RedisOidcStore(redis)),
    magicLinks: guard('redis', new RedisMagicLinkStore(redis)),
    audit: guard('redis', new RedisAuditStore(redis)),
  };
  const m = mongo && {
    apps: guard('mongodb', mongo.apps),
    accounts: guard('mongodb', mongo.accounts),
    oidc: guard('mongodb', mongo.oidc),
    magicLinks: guard('mongodb', mongo.magicLinks),
    audit: guard('mongodb', mongo.audit),
  };
  const durable = (m ?? r)!;
  const fast = (r ?? m)!;

  return {
    kind: [redis && 'redis', mongo && 'mongodb'].filter(Boolean).join('+'),
    apps: durable.apps,
    accounts: durable.accounts,
    audit: durable.audit,
    magicLinks: fast.magicLinks,
    oidc: r && m ? new SplitOidcStore(m.oidc, r.oidc) : durable.oidc,
    changes: redis && subscriber ? new RedisChangeBus(redis, subscriber) : new LocalChangeBus(),
    rateLimiter: rateLimiterFactory(redis ? { kind: 'redis', client: redis } : { kind: 'mongodb', client: mongo!.client }),
    async purgeApp(appId: string) {
      await Promise.all([
        redis && guard('redis', { run: () => deleteByPrefix(redis, keys.app(appId)) }).run(),
        mongo?.purgeApp(appId),
      ]);
    },
    async ping() {
      if (redis) {
        try {
          await redis.ping();
        } catch (err) {
          throw new StoreUnavailableError('redis', err);
        }
      }
      await mongo?.ping();
    },
    async close() {
      await Promise.allSettled([redis?.quit(), subscriber?.quit(), mongo?.client.close()]);
    },
  };
}
