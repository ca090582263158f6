// The Redis driver. It connects the way a request path needs it: commands fail at once
// while the connection is down (no offline queue, one retry) and within a deadline while
// Redis is reachable but does not answer (paused, swapping, stuck on a slow command), so
// requests answer 503 instead of hanging; the client keeps reconnecting in the background
// until Redis is back. The rate limiters use this same client, so the same holds for them.
// The readiness ping has a connection of its own (readiness-connection.ts).
import type { ConnectionOptions } from 'node:tls';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log.ts';
import { guardStores, StoreProbe } from '../guard.ts';
import { PING_DEADLINE_MS, StoreRefusedError, StoreUnavailableError, type Stores } from '../ports.ts';
import { rateLimiterFactory } from '../rate-limiters.ts';
import { ReadinessConnection } from './readiness-connection.ts';
import { TurnBatchedRedis } from './turn-batched-redis.ts';
import { keys } from './redis-keys.ts';
import { RedisOidcStore } from './redis-oidc-store.ts';
import { RedisOutbox } from './redis-outbox.ts';
import { indexApps, RedisAccountStore, RedisAppStore, RedisAuditStore, RedisChangeBus, RedisMagicLinkStore } from './redis-stores.ts';

/**
 * Every store in Redis, guarded; fails with StoreUnavailableError when Redis is
 * unreachable. `timeoutMs` is the deadline of every command.
 */
export async function openRedisStores(url: string, logger: Logger, timeoutMs: number, tls: RedisTls = {}): Promise<Stores> {
  const connection = { url, tls: tlsOptions(url, tls) };
  const redis = connectRedis(connection, logger, 'commands', timeoutMs);
  const subscriber = redis.duplicate({ connectionName: 'postern-subscriber', commandTimeout: timeoutMs });
  subscriber.on('error', () => {}); // reported by the command connection
  const readiness = new ReadinessConnection(redis, connectRedis(connection, logger, 'readiness', PING_DEADLINE_MS, false));
  let changes: RedisChangeBus;
  try {
    // Each first attempt ends (connected or failed) before any connection is dropped: one
    // dropped in the middle of its TLS handshake can fail again once nothing listens.
    const attempts = await Promise.allSettled([ready(redis), ready(subscriber), ready(readiness.connection)]);
    const failed = attempts.find((a) => a.status === 'rejected');
    if (failed) throw failed.reason;
    await refuseReplica(redis);
    await indexApps(redis);
    changes = await RedisChangeBus.open(redis, subscriber);
  } catch (err) {
    // Stop the background reconnects: whoever opened us is giving up.
    redis.disconnect();
    subscriber.disconnect();
    readiness.connection.disconnect();
    // Whatever failed after connecting (the role check, indexing, subscribing) is Redis
    // being unusable, reported at start-up as refused when Redis said no (an ACL refusal,
    // an unknown command) and as unavailable otherwise (a timeout, a dropped connection).
    throw err instanceof StoreUnavailableError ? err : redisFailure(err);
  }
  const probe = new StoreProbe();
  return guardStores('redis', {
    kind: 'redis',
    apps: new RedisAppStore(redis),
    accounts: new RedisAccountStore(redis),
    oidc: new RedisOidcStore(redis),
    magicLinks: new RedisMagicLinkStore(redis),
    audit: new RedisAuditStore(redis),
    changes,
    outbox: new RedisOutbox(redis, keys.mailOutbox),
    logoutOutbox: new RedisOutbox(redis, keys.logoutOutbox),
    rateLimiter: rateLimiterFactory({ kind: 'redis', client: redis, probe }),
    purgeApp: (appId) => deleteByPrefix(redis, keys.app(appId)),
    ping: () => readiness.ping(),
    unreachable: () => readiness.unreachable(),
    async close() {
      // QUIT lets Redis answer what was sent; it fails while Redis is down (no offline
      // queue), and only disconnect() stops the client reconnecting in the background.
      await Promise.allSettled([redis.quit(), subscriber.quit(), readiness.connection.quit()]);
      redis.disconnect();
      subscriber.disconnect();
      readiness.connection.disconnect();
    },
  }, probe);
}

/**
 * `pipelined`: the command connection, whose commands of one turn leave in one socket write
 * and whose deadlines share one timer (turn-batched-redis.ts); the readiness ping's
 * connection sends each command alone, with ioredis's own deadline.
 */
function connectRedis({ url, tls }: { url: string; tls: ConnectionOptions | undefined }, logger: Logger, role: string, timeoutMs: number, pipelined = true): Redis {
  const options: RedisOptions = {
    ...(tls && { tls }),
    // Named, so that an operator tells the connections apart in CLIENT LIST.
    connectionName: `postern-${role}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Each command's promise rejects after the deadline ("Command timed out"), whatever
    // the connection does; the guard turns that into StoreUnavailableError (503).
    commandTimeout: timeoutMs,
    // A connection that has answered nothing for as long while commands wait is dropped
    // and made again. Until the new one is ready, commands fail at once (no offline
    // queue): during a long stall, requests answer 503 immediately and nothing piles up
    // behind the stalled socket.
    socketTimeout: timeoutMs,
    // A command whose connection dropped before its answer is not sent again on the next
    // one: its caller has been answered 503 already (commandTimeout), and a write nobody
    // waits for must not land seconds or minutes later. (One already written may still
    // run when a paused Redis resumes: docs/operations.md.)
    autoResendUnfulfilledCommands: false,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    // After a failover behind one endpoint (a managed Redis's primary name, a proxy), an
    // open connection still reaches the old primary, now a replica: it answers reads, so
    // nothing looks wrong, and refuses every write with READONLY, which would answer 503
    // until a restart. Such a write fails (503, like any store failure, and not sent again)
    // and the connection is made again, reaching whatever the endpoint names now.
    reconnectOnError: (err) => (err.message.includes('READONLY') ? 1 : false),
    lazyConnect: true,
  };
  // Commands issued in one turn of the event loop leave in one socket write: each write to
  // Redis costs this process about as much as building the command. A stalled Redis still
  // fails them within the deadline above (the socket timeout drops the connection, and
  // commands then fail at once), as the stalled-store tests check.
  const redis = pipelined ? new TurnBatchedRedis(url, options, timeoutMs) : new Redis(url, options);
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

/** PEM texts for a rediss:// URL: CAs to trust instead of Node's built-in public ones; a client certificate and its key. */
export interface RedisTls {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/**
 * TLS for a rediss:// URL, decided here from the parsed scheme: ioredis turns TLS on only
 * for a URL that starts with "rediss://" as written, so REDISS://… would otherwise connect
 * in the clear and send the password and every document over it. Node checks the
 * certificate against the CAs and the URL's host (SNI and name check) on every connection.
 */
function tlsOptions(url: string, files: RedisTls): ConnectionOptions | undefined {
  if (URL.parse(url)?.protocol !== 'rediss:') return undefined;
  return {
    ...(files.ca !== undefined && { ca: files.ca }),
    ...(files.cert !== undefined && files.key !== undefined && { cert: files.cert, key: files.key }),
  };
}

/**
 * Waits for the first connection so start-up fails clearly when Redis is unreachable, with
 * the reason the connection gave (a refused connection, a certificate not vouched for):
 * connect() itself rejects with only "Connection is closed.".
 */
async function ready(redis: Redis): Promise<void> {
  let reason: Error | undefined;
  const remember = (err: Error) => (reason ??= err);
  redis.on('error', remember);
  try {
    await redis.connect();
  } catch (err) {
    throw redisFailure(reason ?? err);
  } finally {
    redis.off('error', remember);
  }
}

/** An error reply (WRONGPASS, NOPERM, ERR unknown command) is a refusal; anything else, Redis out of reach. */
function redisFailure(err: unknown): StoreUnavailableError {
  return err instanceof ReplyError ? new StoreRefusedError('redis', err) : new StoreUnavailableError('redis', err);
}

/**
 * A replica answers reads and refuses every write (READONLY): an instance started on one
 * would answer every sign-in 503. ROLE may be denied (ACL) or unknown (a proxy in front of
 * Redis); the first write then tells, and the connection is made again (reconnectOnError).
 */
async function refuseReplica(redis: Redis): Promise<void> {
  const role: unknown = await redis.role().catch(() => undefined);
  if (Array.isArray(role) && role[0] !== 'master') {
    throw new StoreRefusedError('redis', new Error(`REDIS_URL names a read-only replica (ROLE answers ${String(role[0])}), not the primary; Postern writes to Redis`));
  }
}

/** Deletes every key with the prefix, in batches (SCAN, never KEYS). */
async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (found.length) await redis.unlink(...found);
  } while (cursor !== '0');
}
