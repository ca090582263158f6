// oidc-provider documents in Redis. Each document is a hash {payload, consumed} with the
// document's own expiry; `consumed` is a separate field so consuming is one atomic step
// that leaves the payload and TTL untouched. Sorted sets index documents by grant and
// account (for revokeByGrantId and sign-out everywhere), scored by each member's expiry:
// every write drops the members that expired, destroying a document removes it from its
// sets, and a set expires with its longest-lived member. So an index holds live documents
// only, however long a chain of refresh tokens grows.
import type { Redis } from 'ioredis';
import type { OidcPayload, OidcStore } from '../ports.ts';
import { countByModel } from '../removed-documents.ts';
import { idOf, keys, modelOf } from './redis-keys.ts';
import { ttlMs } from './ttl-ms.ts';

// Consumes only an existing, unconsumed document: 1 for the one caller that wins.
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

/** The index sets a document belongs to. */
function indexSetsOf(appId: string, payload: OidcPayload): string[] {
  const sets: string[] = [];
  if (payload.grantId) sets.push(keys.grant(appId, payload.grantId));
  if (payload.accountId) sets.push(keys.accountDocs(appId, payload.accountId));
  return sets;
}

export class RedisOidcStore implements OidcStore {
  readonly #redis: Redis;
  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    const key = keys.doc(appId, model, id);
    const { consumed, ...rest } = payload;
    const tx = this.#redis.multi().del(key).hset(key, 'payload', JSON.stringify(rest));
    if (consumed) tx.hset(key, 'consumed', String(consumed));
    const ttl = expiresIn && expiresIn > 0 ? ttlMs(expiresIn) : undefined;
    if (ttl) tx.pexpire(key, ttl);
    const index = (indexKey: string, value: string) => {
      if (ttl) tx.set(indexKey, value, 'PX', ttl);
      else tx.set(indexKey, value);
    };
    if (payload.uid) index(keys.uid(appId, model, payload.uid), id);
    if (payload.userCode) index(keys.userCode(appId, model, payload.userCode), id);
    const now = Date.now();
    for (const setKey of indexSetsOf(appId, payload)) {
      tx.zadd(setKey, ttl ? now + ttl : '+inf', key).zremrangebyscore(setKey, '-inf', now);
      // The set lives as long as its longest-lived member (NX sets a first expiry, GT extends).
      if (ttl) tx.pexpire(setKey, ttl, 'NX').pexpire(setKey, ttl, 'GT');
      else tx.persist(setKey);
    }
    await tx.exec();
  }

  async find(appId: string, model: string, id: string) {
    const doc = await this.#redis.hgetall(keys.doc(appId, model, id));
    if (!doc.payload) return undefined;
    const payload = JSON.parse(doc.payload) as OidcPayload;
    return doc.consumed ? { ...payload, consumed: Number(doc.consumed) } : payload;
  }

  async findByUid(appId: string, model: string, uid: string) {
    const id = await this.#redis.get(keys.uid(appId, model, uid));
    return id ? this.find(appId, model, id) : undefined;
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    const id = await this.#redis.get(keys.userCode(appId, model, userCode));
    return id ? this.find(appId, model, id) : undefined;
  }

  async consume(appId: string, model: string, id: string) {
    const won = await this.#redis.eval(CONSUME, 1, keys.doc(appId, model, id), String(Math.floor(Date.now() / 1000)));
    return won === 1;
  }

  async destroy(appId: string, model: string, id: string) {
    const key = keys.doc(appId, model, id);
    const stored = await this.#redis.hget(key, 'payload');
    const tx = this.#redis.multi().del(key);
    if (stored) {
      const payload = JSON.parse(stored) as OidcPayload;
      for (const setKey of indexSetsOf(appId, payload)) tx.zrem(setKey, key);
      if (payload.uid) tx.del(keys.uid(appId, model, payload.uid));
      if (payload.userCode) tx.del(keys.userCode(appId, model, payload.userCode));
    }
    await tx.exec();
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    const setKey = keys.grant(appId, grantId);
    const members = (await this.#redis.zrange(setKey, 0, -1)).filter((k) => modelOf(k) === model);
    if (members.length) await this.#redis.multi().del(...members).zrem(setKey, ...members).exec();
  }

  async destroyByAccount(appId: string, accountId: string) {
    const accountKey = keys.accountDocs(appId, accountId);
    const direct = await this.#redis.zrange(accountKey, 0, -1);
    // A Grant document's id is the grant id its tokens carry (both hashed alike above the driver).
    const grantIds = direct.filter((k) => modelOf(k) === 'Grant').map((k) => idOf(k));
    const viaGrants = (await Promise.all(grantIds.map((g) => this.#redis.zrange(keys.grant(appId, g), 0, -1)))).flat();
    const all = [...new Set([...direct, ...viaGrants])];
    const indexes = [accountKey, ...grantIds.map((g) => keys.grant(appId, g))];
    // Read what exists and remove it with the indexes in one transaction: what is returned
    // is exactly what was removed.
    const tx = this.#redis.multi();
    for (const key of all) tx.hget(key, 'payload');
    const results = (await tx.del(...all, ...indexes).exec()) ?? [];
    const removed = all.flatMap((key, i) => {
      const stored = results[i]?.[1];
      return typeof stored === 'string' ? [{ model: modelOf(key), id: idOf(key), payload: JSON.parse(stored) as OidcPayload }] : [];
    });
    return countByModel(removed);
  }
}
