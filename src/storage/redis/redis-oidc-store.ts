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
import { scriptsOf, type RedisScripts } from './redis-scripts.ts';
import { ttlMs } from './ttl-ms.ts';

/** The index sets a document belongs to. */
function indexSetsOf(appId: string, payload: OidcPayload): string[] {
  const sets: string[] = [];
  if (payload.grantId) sets.push(keys.grant(appId, payload.grantId));
  if (payload.accountId) sets.push(keys.accountDocs(appId, payload.accountId));
  return sets;
}

/** The key prefixes of the indexes a document of `model` can be in (redis-scripts.ts UNLINK_DOCUMENT). */
function indexPrefixes(appId: string, model: string): string[] {
  return [keys.grant(appId, ''), keys.accountDocs(appId, ''), keys.uid(appId, model, ''), keys.userCode(appId, model, '')];
}

export class RedisOidcStore implements OidcStore {
  readonly #redis: Redis;
  readonly #scripts: RedisScripts;
  constructor(redis: Redis) {
    this.#redis = redis;
    this.#scripts = scriptsOf(redis);
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    // Expiring now or before (the engine saves what is left of a lifetime, 0 at the end of
    // its last second): gone at once, as in memory, never kept for good.
    if (expiresIn !== undefined && expiresIn <= 0) return this.destroy(appId, model, id);
    const { consumed, ...rest } = payload;
    const ttl = expiresIn === undefined ? undefined : ttlMs(expiresIn);
    const lookups: string[] = [];
    if (payload.uid) lookups.push(keys.uid(appId, model, payload.uid));
    if (payload.userCode) lookups.push(keys.userCode(appId, model, payload.userCode));
    const allKeys = [keys.doc(appId, model, id), ...lookups, ...indexSetsOf(appId, payload)];
    const args = [JSON.stringify(rest), consumed ? String(consumed) : '', ttl ?? '', lookups.length, id, ...indexPrefixes(appId, model)];
    await this.#scripts.posternUpsertDocument(allKeys.length, ...allKeys, ...args);
  }

  async find(appId: string, model: string, id: string) {
    return parsed(await this.#redis.hgetall(keys.doc(appId, model, id)));
  }

  async findByUid(appId: string, model: string, uid: string) {
    return this.#findByLookup(appId, model, keys.uid(appId, model, uid));
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    return this.#findByLookup(appId, model, keys.userCode(appId, model, userCode));
  }

  async consume(appId: string, model: string, id: string) {
    const won = await this.#scripts.posternConsume(1, keys.doc(appId, model, id), String(Math.floor(Date.now() / 1000)));
    return won === 1;
  }

  /** One round trip: the look-up key and the document it names. */
  async #findByLookup(appId: string, model: string, lookupKey: string) {
    const flat = (await this.#scripts.posternFindByLookup(1, lookupKey, keys.doc(appId, model, ''))) as string[] | null;
    if (!flat) return undefined;
    const doc: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) doc[flat[i]!] = flat[i + 1]!;
    return parsed(doc);
  }

  /** One script, atomic (was a read, then a MULTI of up to six commands). */
  async destroy(appId: string, model: string, id: string) {
    await this.#scripts.posternDestroyDocument(1, keys.doc(appId, model, id), id, ...indexPrefixes(appId, model));
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    const setKey = keys.grant(appId, grantId);
    const members = (await this.#redis.zrange(setKey, 0, -1)).filter((k) => modelOf(k) === model);
    if (members.length) await this.#redis.multi().del(...members).zrem(setKey, ...members).exec();
  }

  /** One script (redis-scripts.ts): atomic, and one round trip however many documents. */
  async destroyByAccount(appId: string, accountId: string) {
    const flat = (await this.#scripts.posternDestroyAccount(1, keys.accountDocs(appId, accountId), keys.grant(appId, ''))) as string[];
    const removed = [];
    for (let i = 0; i + 1 < flat.length; i += 2) removed.push({ model: modelOf(flat[i]!), id: idOf(flat[i]!), payload: JSON.parse(flat[i + 1]!) as OidcPayload });
    return countByModel(removed);
  }
}

/** A document hash as HGETALL returns it → the payload, `consumed` restored. */
function parsed(doc: Record<string, string>): OidcPayload | undefined {
  if (!doc['payload']) return undefined;
  const payload = JSON.parse(doc['payload']) as OidcPayload;
  return doc['consumed'] ? { ...payload, consumed: Number(doc['consumed']) } : payload;
}
