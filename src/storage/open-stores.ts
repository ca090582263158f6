// Chooses the storage from configuration: memory (neither URL), Redis, MongoDB, or both
// (durable data in MongoDB, short-lived data and cache invalidation in Redis). Every
// driver opens as a complete, already guarded Stores; this file only picks and combines.
import { systemClock, within, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { openMemoryStores } from './memory/memory-stores.ts';
import { openMongoStores } from './mongo/open-mongo.ts';
import { PING_DEADLINE_MS, StoreUnavailableError, type Stores } from './ports.ts';
import { openRedisStores } from './redis/open-redis.ts';
import { SplitOidcStore } from './split-oidc-store.ts';

export interface StorageSettings {
  readonly redisUrl: string | undefined;
  readonly mongodbUri: string | undefined;
  /** Deadline of every command sent to Redis or MongoDB. */
  readonly storeTimeoutMs: number;
  /** For a rediss:// REDIS_URL (PEM): the CAs to trust instead of Node's built-in public ones, and a client certificate with its key. */
  readonly redisTlsCa?: string | undefined;
  readonly redisTlsCert?: string | undefined;
  readonly redisTlsKey?: string | undefined;
}

/** `clock` is the memory store's time; Redis and MongoDB keep real time. */
export async function openStores(settings: StorageSettings, logger: Logger, clock: Clock = systemClock): Promise<Stores> {
  const { redisUrl, mongodbUri, storeTimeoutMs } = settings;
  if (!redisUrl && !mongodbUri) return openMemoryStores(clock);
  const tls = { ca: settings.redisTlsCa, cert: settings.redisTlsCert, key: settings.redisTlsKey };
  const redis = redisUrl ? await openRedisStores(redisUrl, logger, storeTimeoutMs, tls) : undefined;
  let mongo: Stores | undefined;
  try {
    mongo = mongodbUri ? await openMongoStores(mongodbUri, storeTimeoutMs) : undefined;
  } catch (err) {
    await redis?.close();
    throw err;
  }
  if (redis && mongo) return splitStores(mongo, redis);
  return (redis ?? mongo)!;
}

/** Durable data from one driver; short-lived data, rate limits and change notices from the other. */
export function splitStores(durable: Stores, fast: Stores): Stores {
  return {
    kind: `${fast.kind}+${durable.kind}`,
    apps: durable.apps,
    accounts: durable.accounts,
    audit: durable.audit,
    oidc: new SplitOidcStore(durable.oidc, fast.oidc),
    magicLinks: fast.magicLinks,
    changes: fast.changes,
    outbox: fast.outbox,
    logoutOutbox: fast.logoutOutbox,
    rateLimiter: fast.rateLimiter,
    async purgeApp(appId: string) {
      await Promise.all([durable.purgeApp(appId), fast.purgeApp(appId)]);
    },
    async ping() {
      // Both at once, each within the ping deadline under its own name: asked in turn, a
      // stalled MongoDB (whose own ping waits up to the longer store deadline) ran out the
      // caller's deadline, which could only name the pair.
      await Promise.all([fast, durable].map((s) => within(PING_DEADLINE_MS, s.ping(), () => new StoreUnavailableError(s.kind))));
    },
    unreachable: () => fast.unreachable() ?? durable.unreachable(),
    observe(observer) {
      fast.observe(observer);
      durable.observe(observer);
    },
    pace(resume) {
      fast.pace(resume);
      durable.pace(resume);
    },
    async close() {
      await Promise.all([fast.close(), durable.close()]);
    },
  };
}
