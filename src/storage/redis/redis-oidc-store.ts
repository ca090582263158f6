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
    const args = [JSON.stringify(rest), consumed ? String(consumed) : '', ttl ?? '', lookups.length, id];
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
    const prefixes = [keys.grant(appId, ''), keys.accountDocs(appId, ''), keys.uid(appId, model, ''), keys.userCode(appId, model, '')];
    await this.#scripts.posternDestroyDocument(1, keys.doc(appId, model, id), ...prefixes);
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    const setKey = keys.grant(appId, grantId);
    const members = (await this.#redis.zrange(setKey, 0, -1)).filter((k) => modelOf(k) === model);
    if (members.length) await this.#redis.multi().del(...members).zrem(setKey, ...members).exec();
  }

  async destroyByAccount(appId: string, accountId: string) {
    const accountKey = keys.accountDocs(appId, accountId);
    const direct = await this.#redis.zrange(accountKey, 0, -1);
    // The account's grants: its Grant documents (a Grant's id is the grant id its tokens
    // carry, both hashed alike above the driver) and the grants its other documents name.
    // The latter find a grant's documents that carry no account, such as a code, when the
    // Grant itself is in another store (MongoDB, with Redis for the short-lived models).
    const named = await Promise.all(direct.map((k) => (modelOf(k) === 'Grant' ? idOf(k) : this.#redis.hget(k, 'payload').then(grantIdIn))));
    const grantKeys = [...new Set(named.filter((g) => g !== undefined))].map((g) => keys.grant(appId, g));
    const viaGrants = await Promise.all(grantKeys.map((g) => this.#redis.zrange(g, 0, -1)));
    const all = [...new Set([...direct, ...viaGrants.flat()])];
    if (all.length === 0) return countByModel([]);
    // Read what exists and remove it in one transaction: what is returned is exactly what
    // was removed. Only the index entries read go with it: a document written for the
    // account meanwhile (another instance's sign-in) stays, and stays indexed, so the
    // next sign-out finds it.
    const tx = this.#redis.multi();
    for (const key of all) tx.hget(key, 'payload');
    tx.del(...all);
    if (direct.length) tx.zrem(accountKey, ...direct);
    for (const [i, g] of grantKeys.entries()) if (viaGrants[i]!.length) tx.zrem(g, ...viaGrants[i]!);
    const results = (await tx.exec()) ?? [];
    const removed = all.flatMap((key, i) => {
      const stored = results[i]?.[1];
      return typeof stored === 'string' ? [{ model: modelOf(key), id: idOf(key), payload: JSON.parse(stored) as OidcPayload }] : [];
    });
    return countByModel(removed);
  }
}

/** The grant a stored payload names, if any. */
function grantIdIn(stored: string | null): string | undefined {
  const grantId = stored === null ? undefined : (JSON.parse(stored) as OidcPayload).grantId;
  return typeof grantId === 'string' && grantId !== '' ? grantId : undefined;
}

/** A document hash as HGETALL returns it → the payload, `consumed` restored. */
function parsed(doc: Record<string, string>): OidcPayload | undefined {
  if (!doc['payload']) return undefined;
  const payload = JSON.parse(doc['payload']) as OidcPayload;
  return doc['consumed'] ? { ...payload, consumed: Number(doc['consumed']) } : payload;
}
