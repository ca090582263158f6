// Connects to Redis the way a request path needs it: commands fail at once while the
// connection is down (no offline queue, one retry) so requests answer 503 instead of
// hanging, and the client keeps reconnecting in the background until Redis is back.
import { Redis } from 'ioredis';
import type { Logger } from '../../log.ts';
import { StoreUnavailableError } from '../ports.ts';

export function connectRedis(url: string, logger: Logger, role: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: true,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.error('redis connection error', { role, err: err.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis connection restored', { role });
    down = false;
  });
  return redis;
}

/** Waits for the first connection so start-up fails clearly when Redis is unreachable. */
export async function ready(redis: Redis): Promise<void> {
  try {
    await redis.connect();
  } catch (err) {
    throw new StoreUnavailableError('redis', err);
  }
}

/** Deletes every key with the prefix, in batches (SCAN, never KEYS). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (found.length) await redis.unlink(...found);
  } while (cursor !== '0');
}
