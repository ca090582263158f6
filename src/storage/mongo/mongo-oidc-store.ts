// oidc-provider documents in MongoDB: one collection, one document per model instance,
// `_id` = "{appId}:{model}:{id}". `expiresAt` carries a TTL index (MongoDB removes expired
// documents within about a minute), and reads ignore anything already past it.
import type { Collection } from 'mongodb';
import type { OidcPayload, OidcStore } from '../ports.ts';
import { countByModel } from '../removed-documents.ts';

export interface OidcDocument {
  _id: string;
  appId: string;
  model: string;
  payload: OidcPayload;
  consumed?: number;
  uid?: string;
  userCode?: string;
  grantId?: string;
  accountId?: string;
  expiresAt?: Date;
}

export async function createOidcIndexes(collection: Collection<OidcDocument>): Promise<void> {
  await collection.createIndexes([
    { key: { expiresAt: 1 }, expireAfterSeconds: 0, name: 'ttl' },
    { key: { appId: 1, model: 1, uid: 1 }, sparse: true, name: 'uid' },
    { key: { appId: 1, model: 1, userCode: 1 }, sparse: true, name: 'user_code' },
    { key: { appId: 1, grantId: 1 }, sparse: true, name: 'grant' },
    { key: { appId: 1, accountId: 1 }, sparse: true, name: 'account' },
  ]);
}

const live = () => ({ $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: new Date() } }] });

function toPayload(doc: OidcDocument | null): OidcPayload | undefined {
  if (!doc) return undefined;
  return doc.consumed ? { ...doc.payload, consumed: doc.consumed } : doc.payload;
}

export class MongoOidcStore implements OidcStore {
  readonly #docs: Collection<OidcDocument>;
  constructor(docs: Collection<OidcDocument>) {
    this.#docs = docs;
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    const { consumed, ...rest } = payload;
    const doc: OidcDocument = { _id: `${appId}:${model}:${id}`, appId, model, payload: rest };
    if (consumed) doc.consumed = Number(consumed);
    for (const field of ['uid', 'userCode', 'grantId', 'accountId'] as const) {
      if (typeof payload[field] === 'string') doc[field] = payload[field];
    }
    // Expiring now or before (0 at the end of a lifetime's last second): out of every read at
    // once, as in memory, and removed by the TTL index; never kept for good.
    if (expiresIn !== undefined) doc.expiresAt = new Date(Date.now() + Math.max(0, expiresIn) * 1000);
    await this.#docs.replaceOne({ _id: doc._id }, doc, { upsert: true });
  }

  async find(appId: string, model: string, id: string) {
    return toPayload(await this.#docs.findOne({ _id: `${appId}:${model}:${id}`, ...live() }));
  }

  async findByUid(appId: string, model: string, uid: string) {
    return toPayload(await this.#docs.findOne({ appId, model, uid, ...live() }));
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    return toPayload(await this.#docs.findOne({ appId, model, userCode, ...live() }));
  }

  async consume(appId: string, model: string, id: string) {
    const result = await this.#docs.updateOne(
      { _id: `${appId}:${model}:${id}`, consumed: { $exists: false }, ...live() },
      { $set: { consumed: Math.floor(Date.now() / 1000) } },
    );
    return result.modifiedCount === 1;
  }

  async destroy(appId: string, model: string, id: string) {
    await this.#docs.deleteOne({ _id: `${appId}:${model}:${id}` });
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    await this.#docs.deleteMany({ appId, model, grantId });
  }

  async destroyByAccount(appId: string, accountId: string) {
    const grants = await this.#docs.find({ appId, model: 'Grant', accountId, ...live() }, { projection: { _id: 1 } }).toArray();
    const grantIds = grants.map((g) => g._id.slice(`${appId}:Grant:`.length));
    const filter = { appId, $or: [{ accountId }, { grantId: { $in: grantIds } }] };
    const docs = await this.#docs.find({ $and: [filter, live()] }, { projection: { model: 1, payload: 1 } }).toArray();
    // Sessions are removed as read, so every session removed is one returned; one signed in
    // meanwhile stays (it began after this sign-out). Tokens of the grants all go.
    const sessionIds = docs.filter((doc) => doc.model === 'Session').map((doc) => doc._id);
    await this.#docs.deleteMany({ $and: [filter, { $or: [{ model: { $ne: 'Session' } }, { _id: { $in: sessionIds } }] }] });
    return countByModel(docs.map((doc) => ({ model: doc.model, id: doc._id.slice(`${appId}:${doc.model}:`.length), payload: doc.payload })));
  }
}
