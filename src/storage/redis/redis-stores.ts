// Apps, accounts, magic links and audit events in Redis. Used alone (REDIS_URL only: run
// Redis with AOF so apps and keys survive a Redis restart) or for the short-lived part.
import { Redis } from 'ioredis';
import { matchesAudit, newestFirst } from '../audit-filter.ts';
import {
  appCursorOf,
  DuplicateError,
  trailOf,
  type AccountStore,
  type AppDeletion,
  type AppCursor,
  type AppChangeBus,
  type AppChangeListener,
  type AppRecord,
  type AppStore,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type MagicLinkRecord,
  type MagicLinkStore,
} from '../ports.ts';
import { keys } from './redis-keys.ts';
import { scriptCommand, scriptsOf, type RedisScripts, type ScriptCall } from './redis-scripts.ts';
import { ttlMs } from './ttl-ms.ts';
import { turnBatch } from './turn-batch.ts';

// ARGV[3]: the updatedAt the stored record must still have, or '' for any (compare-and-replace).
const REPLACE_IF_UNCHANGED = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
if ARGV[3] ~= '' and cjson.decode(stored).updatedAt ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// The record and its place in the order, together or not at all.
// An id with a deletion mark (KEYS[3]) is taken too, until the mark is forgotten: its
// purge would take the new app's data with the old one's.
const INSERT_APP = `
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return 1`;

// The record out of every read and its deletion mark (ARGV[3]: when) in, together.
// ARGV[4]: the updatedAt the stored record must still have, or '' for any (compare-and-delete).
const DELETE_APP = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
if ARGV[4] ~= '' and cjson.decode(stored).updatedAt ~= tonumber(ARGV[4]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1`;

// One page in one round trip: up to ARGV[2] cursors after ARGV[1], each with its record,
// reading one cursor more to know whether another page follows. A cursor without a record
// (written by hand: the scripts above change both together) is dropped as it is met.
// Returns the cursor to continue after (false on the last page), then the records.
const PAGE_APPS = `
local limit = tonumber(ARGV[2])
local cursors = redis.call('ZRANGE', KEYS[2], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, limit + 1)
local out = {false}
if #cursors > limit then out[1] = cursors[limit] end
for i = 1, math.min(#cursors, limit) do
  local record = redis.call('HGET', KEYS[1], string.sub(cursors[i], 18))
  if record then
    out[#out + 1] = record
  else
    redis.call('ZREM', KEYS[2], cursors[i])
  end
end
return out`;

/**
 * Adds to the order index every app missing from it: records written before the index
 * existed. Run when a process opens the store and the counts differ; HSCAN walks the hash
 * in steps, so Redis never blocks on one large command.
 */
export async function indexApps(redis: Redis): Promise<void> {
  if ((await redis.zcard(keys.appOrder)) >= (await redis.hlen(keys.apps))) return;
  let cursor = '0';
  do {
    const [nextCursor, fields] = await redis.hscan(keys.apps, cursor, 'COUNT', 500);
    cursor = nextCursor;
    const members: (string | number)[] = [];
    for (let i = 1; i < fields.length; i += 2) members.push(0, appCursorOf(JSON.parse(fields[i]!) as AppRecord));
    if (members.length) await redis.zadd(keys.appOrder, ...members);
  } while (cursor !== '0');
}

export class RedisAppStore implements AppStore {
  readonly #redis: Redis;
  constructor(redis: Redis) {
    this.#redis = redis;
  }
  async insert(app: AppRecord) {
    if ((await this.#redis.eval(INSERT_APP, 3, keys.apps, keys.appOrder, keys.appDeletions, app.id, JSON.stringify(app), appCursorOf(app))) === 0) {
      throw new DuplicateError(`app ${app.id}`);
    }
  }
  async get(id: string) {
    const json = await this.#redis.hget(keys.apps, id);
    return json ? (JSON.parse(json) as AppRecord) : undefined;
  }
  async page(limit: number, after?: AppCursor) {
    const start = after === undefined ? '-' : `(${after}`;
    const [next, ...records] = (await this.#redis.eval(PAGE_APPS, 2, keys.apps, keys.appOrder, start, limit)) as [string | null, ...string[]];
    return { apps: records.map((json) => JSON.parse(json) as AppRecord), next: next ?? undefined };
  }
  async replace(app: AppRecord, expectedUpdatedAt?: number) {
    const expected = expectedUpdatedAt === undefined ? '' : String(expectedUpdatedAt);
    return (await this.#redis.eval(REPLACE_IF_UNCHANGED, 1, keys.apps, app.id, JSON.stringify(app), expected)) === 1;
  }
  async delete(id: string, at: number, expectedUpdatedAt?: number) {
    const json = await this.#redis.hget(keys.apps, id);
    if (!json) return false;
    const expected = expectedUpdatedAt === undefined ? '' : String(expectedUpdatedAt);
    return (await this.#redis.eval(DELETE_APP, 3, keys.apps, keys.appOrder, keys.appDeletions, id, appCursorOf(JSON.parse(json) as AppRecord), at, expected)) === 1;
  }
  async deletion(id: string) {
    const [deletedAt, purgedAt] = await Promise.all([this.#redis.zscore(keys.appDeletions, id), this.#redis.hget(keys.appPurges, id)]);
    return deletedAt === null ? undefined : markOf(id, deletedAt, purgedAt);
  }
  async deletions(limit: number, after?: AppDeletion) {
    const found = (
      after === undefined
        ? await this.#redis.zrange(keys.appDeletions, 0, limit - 1, 'WITHSCORES')
        : await this.#redis.eval(DELETIONS_AFTER, 1, keys.appDeletions, after.deletedAt, after.id, limit)
    ) as string[];
    const ids = found.filter((_, i) => i % 2 === 0);
    const purges = ids.length ? await this.#redis.hmget(keys.appPurges, ...ids) : [];
    return ids.map((id, i) => markOf(id, found[2 * i + 1]!, purges[i] ?? null));
  }
  async purged(id: string, at: number) {
    await this.#redis.eval(NOTE_PURGE, 2, keys.appDeletions, keys.appPurges, id, at);
  }
  async forget(id: string) {
    await this.#redis.eval(FORGET_DELETION, 2, keys.appDeletions, keys.appPurges, id);
  }
}

// Only on a mark that still exists (a purge finishing after the mark was forgotten notes
// nothing), and never an earlier start than the one noted.
const NOTE_PURGE = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local noted = redis.call('HGET', KEYS[2], ARGV[1])
if noted and tonumber(noted) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

// Marks after (ARGV[1] time, ARGV[2] id) in the sorted set's own order (score, then member
// bytewise), up to ARGV[3], with their scores. By score from that time on, skipping the
// marks of that very time up to the id, which may no longer be there itself.
const DELETIONS_AFTER = `
local at, id, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local out, offset = {}, 0
while true do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], at, '+inf', 'WITHSCORES', 'LIMIT', offset, limit)
  if #batch == 0 then return out end
  for i = 1, #batch, 2 do
    if tonumber(batch[i + 1]) > at or batch[i] > id then
      out[#out + 1] = batch[i]
      out[#out + 1] = batch[i + 1]
      if #out == 2 * limit then return out end
    end
  end
  offset = offset + #batch / 2
end`;

const FORGET_DELETION = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])`;

function markOf(id: string, deletedAt: string, purgedAt: string | null): AppDeletion {
  return { id, deletedAt: Number(deletedAt), ...(purgedAt !== null && { purgedAt: Number(purgedAt) }) };
}

// ARGV[1]: the sign-in's time. Creates the account at its first sign-in; {createdAt, lastLoginAt}.
const RECORD_LOGIN = `
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[1])
redis.call('HSET', KEYS[1], 'lastLoginAt', ARGV[1])
return redis.call('HMGET', KEYS[1], 'createdAt', 'lastLoginAt')`;

export class RedisAccountStore implements AccountStore {
  readonly #redis: Redis;
  readonly #recordLogin: ScriptCall;
  constructor(redis: Redis) {
    this.#redis = redis;
    this.#recordLogin = scriptCommand(redis, 'posternRecordLogin', RECORD_LOGIN);
  }
  /** One script (was a MULTI of five commands): the same atomic step, one reply. */
  async recordLogin(appId: string, email: string, at: number) {
    const [createdAt, lastLoginAt] = (await this.#recordLogin(1, keys.account(appId, email), String(at))) as [string | null, string | null];
    return { email, createdAt: Number(createdAt ?? at), lastLoginAt: Number(lastLoginAt ?? at) };
  }
  async find(appId: string, email: string) {
    const fields = await this.#redis.hgetall(keys.account(appId, email));
    if (!fields.createdAt) return undefined;
    return { email, createdAt: Number(fields.createdAt), lastLoginAt: Number(fields.lastLoginAt) };
  }
}

// ARGV[1]: the most attempts a link allows. Counts one more only below it; 0 when refused.
const TAKE_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local taken = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if taken >= tonumber(ARGV[1]) then return 0 end
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)`;

// KEYS: the link, the attempt's pointer to its latest link. ARGV: record, usedAt ('' when
// unset), attempts ('' when none), ttl ms, the link's hash. The link replaces any stored
// under its hash and becomes its attempt's latest; both live for the ttl.
const SAVE_LINK = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'record', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'usedAt', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'attempts', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])`;

// KEYS[1]: the link. ARGV[1]: the prefix of link keys, ARGV[2]: of the attempts' pointers.
// {the link as HGETALL returns it, 1 when a later link of its attempt exists}, or nothing.
const FIND_WITH_SUCCESSOR = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return nil end
local record = redis.call('HGET', KEYS[1], 'record')
if not record then return {fields, 0} end
local latest = redis.call('GET', ARGV[2] .. cjson.decode(record).interactionUid)
if latest and ARGV[1] .. latest ~= KEYS[1] and redis.call('EXISTS', ARGV[1] .. latest) == 1 then return {fields, 1} end
return {fields, 0}`;

// KEYS: the link, the pointer to the latest link of attempt ARGV[2]. ARGV: now (epoch
// seconds), the attempt's uid, the link's hash, the prefix of link keys. Sets usedAt when
// the link is the attempt's, unused, unexpired and its latest (or the latest is gone):
// {the link as HGETALL returned it before, 1 when superseded, 1 when used by this call},
// or nothing. The look-up and the use in one step, so exactly one confirmation wins.
const USE_CURRENT = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return nil end
local record = redis.call('HGET', KEYS[1], 'record')
if not record then return {fields, 0, 0} end
local link = cjson.decode(record)
if link.interactionUid ~= ARGV[2] then return {fields, 0, 0} end
local latest = redis.call('GET', KEYS[2])
if latest and latest ~= ARGV[3] and redis.call('EXISTS', ARGV[4] .. latest) == 1 then return {fields, 1, 0} end
if redis.call('HEXISTS', KEYS[1], 'usedAt') == 1 or link.expiresAt <= tonumber(ARGV[1]) then return {fields, 0, 0} end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[1])
return {fields, 0, 1}`;

export class RedisMagicLinkStore implements MagicLinkStore {
  readonly #redis: Redis;
  readonly #scripts: RedisScripts;
  readonly #useCurrent: ScriptCall;
  readonly #takeAttempt: ScriptCall;
  readonly #saveLink: ScriptCall;
  readonly #findWithSuccessor: ScriptCall;
  constructor(redis: Redis) {
    this.#redis = redis;
    this.#scripts = scriptsOf(redis);
    this.#useCurrent = scriptCommand(redis, 'posternUseCurrentLink', USE_CURRENT);
    this.#takeAttempt = scriptCommand(redis, 'posternTakeAttempt', TAKE_ATTEMPT);
    this.#saveLink = scriptCommand(redis, 'posternSaveLink', SAVE_LINK);
    this.#findWithSuccessor = scriptCommand(redis, 'posternFindLinkWithSuccessor', FIND_WITH_SUCCESSOR);
  }
  /** One script (was a MULTI of up to eight commands). */
  async save(record: MagicLinkRecord, retainSeconds: number) {
    const { usedAt, attempts, ...rest } = record;
    const linkKeys = [keys.magicLink(record.appId, record.hash), keys.latestLink(record.appId, record.interactionUid)];
    await this.#saveLink(2, ...linkKeys, JSON.stringify(rest), usedAt === undefined ? '' : String(usedAt), attempts ? String(attempts) : '', ttlMs(retainSeconds), record.hash);
  }
  async find(appId: string, hash: string) {
    return fromFields(await this.#redis.hgetall(keys.magicLink(appId, hash)));
  }
  /** One round trip: the attempt's pointer to its latest link, and that link. */
  async latestForAttempt(appId: string, interactionUid: string) {
    const flat = (await this.#scripts.posternFindByLookup(1, keys.latestLink(appId, interactionUid), keys.magicLink(appId, ''))) as string[] | null;
    return fromFields(pairs(flat ?? []));
  }
  /** One round trip (was two: the link, then its attempt's latest). */
  async findWithSuccessor(appId: string, hash: string) {
    const found = (await this.#findWithSuccessor(1, keys.magicLink(appId, hash), keys.magicLink(appId, ''), keys.latestLink(appId, ''))) as [string[], number] | null;
    const record = found ? fromFields(pairs(found[0])) : undefined;
    return record && { record, superseded: found![1] === 1 };
  }
  /** One round trip (was two: the look-up, then marking it used). */
  async useCurrent(appId: string, hash: string, interactionUid: string, at: number) {
    const keysOf = [keys.magicLink(appId, hash), keys.latestLink(appId, interactionUid)];
    const found = (await this.#useCurrent(2, ...keysOf, String(at), interactionUid, hash, keys.magicLink(appId, ''))) as [string[], number, number] | null;
    const record = found ? fromFields(pairs(found[0])) : undefined;
    return record && { record, superseded: found![1] === 1, used: found![2] === 1 };
  }
  async takeAttempt(appId: string, hash: string, max: number) {
    return Number(await this.#takeAttempt(1, keys.magicLink(appId, hash), String(max)));
  }
}

/** A flat [field, value, ...] reply → an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

function fromFields(fields: Record<string, string>): MagicLinkRecord | undefined {
  if (!fields.record) return undefined;
  const record = JSON.parse(fields.record) as MagicLinkRecord;
  return {
    ...record,
    ...(fields.usedAt ? { usedAt: Number(fields.usedAt) } : {}),
    ...(fields.attempts ? { attempts: Number(fields.attempts) } : {}),
  };
}

/** Events read per command when an audit query pages through a set. */
const AUDIT_PAGE = 500;

/**
 * Audit events in a sorted set per app, scored by time, and again in a sorted set per app
 * and address and one per app and event type, so a query by address or by type reads only
 * those events (a type filtered out of the whole trail read all of it). Events older than
 * the retention are trimmed on every append, and a set expires with its newest event.
 * Appends nobody waits on: those of one turn of the event loop (every request's) go as one
 * script call, in the order they were made.
 */
export class RedisAuditStore implements AuditStore {
  readonly #redis: Redis;
  readonly #append: (record: { sets: string[]; at: number; json: string; cutoff: string; ttl: number }) => Promise<void>;
  constructor(redis: Redis) {
    this.#redis = redis;
    const scripts = scriptsOf(redis);
    this.#append = turnBatch(setImmediate, async (batch) => {
      const sets = batch.flatMap((r) => r.sets);
      await scripts.posternAppendAudit(sets.length, ...sets, ...batch.flatMap((r) => [r.sets.length, r.at, r.json, r.cutoff, r.ttl]));
      return [];
    });
  }
  async append(record: AuditRecord, retainSeconds: number) {
    const trail = trailOf(record);
    const sets = [keys.audit(trail), keys.auditByType(trail, record.type)];
    if (typeof record.email === 'string') sets.push(keys.auditByEmail(trail, record.email));
    await this.#append({ sets, at: record.at, json: JSON.stringify(record), cutoff: `(${Date.now() - retainSeconds * 1000}`, ttl: ttlMs(retainSeconds) });
  }
  async query(trail: string, query: AuditQuery) {
    // The narrowest set that holds every match: an address's events are few (its links are rate limited).
    const key =
      query.email !== undefined ? keys.auditByEmail(trail, query.email) : query.type !== undefined ? keys.auditByType(trail, query.type) : keys.audit(trail);
    const min = query.from ?? '-inf';
    let max: string | number = query.before ? query.before.at : query.to !== undefined ? `(${query.to}` : '+inf';
    // Paged newest first by score, not by a growing offset (which Redis walks afresh on
    // every page): each page starts at the last one's lowest time, past the events of that
    // time already read. Redis orders events of one millisecond by their text, the API by
    // id, so the ties at the lowest time are all read before the page is cut.
    let skip = 0;
    const found: AuditRecord[] = [];
    for (;;) {
      const page = await this.#redis.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', skip, AUDIT_PAGE);
      for (let i = 0; i < page.length; i += 2) {
        const record = JSON.parse(page[i]!) as AuditRecord;
        if (matchesAudit(record, query)) found.push(record);
      }
      if (page.length < 2 * AUDIT_PAGE) break;
      const lowest = Number(page.at(-1));
      if (found.filter((record) => record.at > lowest).length >= query.limit) break;
      let atLowest = 0;
      for (let i = page.length - 1; i > 0 && Number(page[i]) === lowest; i -= 2) atLowest++;
      skip = lowest === max ? skip + atLowest : atLowest;
      max = lowest;
    }
    return found.sort(newestFirst).slice(0, query.limit);
  }
}

/**
 * Redis pub/sub: every instance hears every app change, its own included. Pub/sub keeps
 * nothing for a subscriber that is away: notices published while the subscriber's connection
 * was down (Redis restarted or failed over, a network blip, or Redis dropping a subscriber
 * over its output buffer limit) are gone, so once it is subscribed again, listeners are told
 * they may have missed some.
 */
export class RedisChangeBus implements AppChangeBus {
  readonly #publisher: Redis;
  readonly #listeners: AppChangeListener[] = [];
  /** The subscriber's connection closed since it was last subscribed. */
  #away = false;

  /**
   * A bus that hears every notice published once this resolves: the first SUBSCRIBE has
   * been answered. Until then a notice would be lost without anyone told, and an app read
   * into the cache meanwhile could stay stale for as long as it is cached.
   */
  static async open(publisher: Redis, subscriber: Redis): Promise<RedisChangeBus> {
    const bus = new RedisChangeBus(publisher, subscriber);
    await subscriber.subscribe(keys.appChanges);
    return bus;
  }

  private constructor(publisher: Redis, subscriber: Redis) {
    this.#publisher = publisher;
    subscriber.on('message', (channel: string, appId: string) => {
      if (channel === keys.appChanges) for (const listener of this.#listeners) listener.changed(appId);
    });
    subscriber.on('close', () => {
      this.#away = true;
    });
    // ioredis subscribes again by itself after a reconnect, but says nothing of what was
    // lost meanwhile: this SUBSCRIBE's answer is the moment from which nothing is lost
    // (subscribing twice to a channel is harmless).
    subscriber.on('ready', () => {
      if (!this.#away) return;
      this.#away = false;
      subscriber.subscribe(keys.appChanges).then(
        () => {
          for (const listener of this.#listeners) listener.missed();
        },
        () => {}, // the connection went again: its next `ready` tries again
      );
    });
  }
  async publish(appId: string) {
    await this.#publisher.publish(keys.appChanges, appId);
  }
  subscribe(listener: AppChangeListener) {
    this.#listeners.push(listener);
  }
}
