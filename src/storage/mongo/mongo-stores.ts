// Apps, accounts, magic links and audit events in MongoDB, each in its own collection,
// each per-app document carrying `appId` so an app's data can be found and purged.
import { MongoServerError, type Collection } from 'mongodb';
import { newestFirst } from '../audit-filter.ts';
import { supersededIn } from '../link-successor.ts';
import {
  appCursorOf,
  parseAppCursor,
  type AppCursor,
  DuplicateError,
  INSTANCE_TRAIL,
  type AccountRecord,
  type AccountStore,
  type AppDeletion,
  type AppRecord,
  type AppStore,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type MagicLinkRecord,
  type MagicLinkStore,
} from '../ports.ts';

export type AppDocument = AppRecord & { _id: string };
export type AccountDocument = AccountRecord & { _id: string; appId: string };
export type MagicLinkDocument = MagicLinkRecord & { _id: string; retainUntil: Date };
export type LatestLinkDocument = { _id: string; appId: string; hash: string; retainUntil: Date };
export type AuditDocument = AuditRecord & { _id: string; retainUntil: Date };

const strip = <T extends { _id: string }>(doc: T | null): Omit<T, '_id'> | undefined => {
  if (!doc) return undefined;
  const { _id, ...rest } = doc;
  return rest;
};

/**
 * A deleted app's document is replaced by its deletion mark, `{ _id, deletedAt }`: one
 * document, so taking the app out and leaving the mark is one atomic write without a
 * transaction. Every read of apps passes over marks: by the filter (LIVE), or, for `get`
 * by id alone, by the field.
 */
export class MongoAppStore implements AppStore {
  readonly #apps: Collection<AppDocument>;
  readonly #marks: Collection<DeletionDocument>;
  constructor(apps: Collection<AppDocument>) {
    this.#apps = apps;
    this.#marks = apps as unknown as Collection<DeletionDocument>;
  }
  async insert(app: AppRecord) {
    try {
      await this.#apps.insertOne({ ...app, _id: app.id });
    } catch (err) {
      if (err instanceof MongoServerError && err.code === 11000) throw new DuplicateError(`app ${app.id}`);
      throw err;
    }
  }
  async get(id: string) {
    // By _id alone (the engine's hot path), a mark told apart by its field.
    const doc = await this.#apps.findOne({ _id: id });
    return doc && !('deletedAt' in doc) ? (strip(doc) as AppRecord) : undefined;
  }
  async page(limit: number, after?: AppCursor) {
    // The cursor's order, served by the { createdAt, _id } index (open-mongo.ts).
    const from = after === undefined ? undefined : parseAppCursor(after);
    const filter = from ? { $or: [{ createdAt: { $gt: from.createdAt } }, { createdAt: from.createdAt, _id: { $gt: from.id } }], ...LIVE } : LIVE;
    const docs = await this.#apps.find(filter).sort({ createdAt: 1, _id: 1 }).limit(limit + 1).toArray();
    const apps = docs.slice(0, limit).map((d) => strip(d) as AppRecord);
    return { apps, next: docs.length > limit ? appCursorOf(apps.at(-1)!) : undefined };
  }
  async replace(app: AppRecord, expectedUpdatedAt?: number) {
    // LIVE: a replace racing a delete must not bring the app back over its mark.
    const filter = expectedUpdatedAt === undefined ? { _id: app.id, ...LIVE } : { _id: app.id, updatedAt: expectedUpdatedAt, ...LIVE };
    return (await this.#apps.replaceOne(filter, { ...app })).matchedCount === 1;
  }
  async delete(id: string, at: number, expectedUpdatedAt?: number) {
    const version = expectedUpdatedAt === undefined ? {} : { updatedAt: expectedUpdatedAt };
    return (await this.#marks.replaceOne({ _id: id, ...LIVE, ...version }, { deletedAt: at })).matchedCount === 1;
  }
  async deletion(id: string) {
    const mark = await this.#marks.findOne({ _id: id, ...MARKED });
    return mark ? markOf(mark) : undefined;
  }
  async deletions(limit: number, after?: AppDeletion) {
    // Served by the partial { deletedAt, _id } index (open-mongo.ts): only marks are in it.
    const filter = after === undefined ? MARKED : { ...MARKED, $or: [{ deletedAt: { $gt: after.deletedAt } }, { deletedAt: after.deletedAt, _id: { $gt: after.id } }] };
    const marks = await this.#marks.find(filter).sort({ deletedAt: 1, _id: 1 }).limit(limit).toArray();
    return marks.map(markOf);
  }
  async purged(id: string, at: number) {
    await this.#marks.updateOne({ _id: id, ...MARKED }, { $max: { purgedAt: at } });
  }
  async forget(id: string) {
    await this.#marks.deleteOne({ _id: id, ...MARKED });
  }
}

type DeletionDocument = { _id: string; deletedAt: number; purgedAt?: number };
const markOf = (mark: DeletionDocument): AppDeletion => ({ id: mark._id, deletedAt: mark.deletedAt, ...(mark.purgedAt !== undefined && { purgedAt: mark.purgedAt }) });
const LIVE = { deletedAt: { $exists: false } };
const MARKED = { deletedAt: { $exists: true } };

export class MongoAccountStore implements AccountStore {
  readonly #accounts: Collection<AccountDocument>;
  constructor(accounts: Collection<AccountDocument>) {
    this.#accounts = accounts;
  }
  async recordLogin(appId: string, email: string, at: number) {
    const doc = await this.#accounts.findOneAndUpdate(
      { _id: `${appId}:${email}` },
      { $setOnInsert: { appId, email, createdAt: at }, $set: { lastLoginAt: at } },
      { upsert: true, returnDocument: 'after' },
    );
    return { email, createdAt: doc?.createdAt ?? at, lastLoginAt: doc?.lastLoginAt ?? at };
  }
  async find(appId: string, email: string) {
    const doc = await this.#accounts.findOne({ _id: `${appId}:${email}` });
    return doc ? { email: doc.email, createdAt: doc.createdAt, lastLoginAt: doc.lastLoginAt } : undefined;
  }
}

export class MongoMagicLinkStore implements MagicLinkStore {
  readonly #links: Collection<MagicLinkDocument>;
  readonly #latest: Collection<LatestLinkDocument>;
  constructor(links: Collection<MagicLinkDocument>, latest: Collection<LatestLinkDocument>) {
    this.#links = links;
    this.#latest = latest;
  }
  async save(record: MagicLinkRecord, retainSeconds: number) {
    const _id = `${record.appId}:${record.hash}`;
    const retainUntil = new Date(Date.now() + retainSeconds * 1000);
    await this.#links.replaceOne({ _id }, { ...record, retainUntil }, { upsert: true });
    await this.#latest.replaceOne(
      { _id: `${record.appId}:${record.interactionUid}` },
      { appId: record.appId, hash: record.hash, retainUntil },
      { upsert: true },
    );
  }
  async find(appId: string, hash: string) {
    const doc = await this.#links.findOne({ _id: `${appId}:${hash}`, retainUntil: { $gt: new Date() } });
    return doc ? toLink(doc) : undefined;
  }
  async latestForAttempt(appId: string, interactionUid: string) {
    const pointer = await this.#latest.findOne({ _id: `${appId}:${interactionUid}`, retainUntil: { $gt: new Date() } });
    return pointer ? this.find(appId, pointer.hash) : undefined;
  }
  async findWithSuccessor(appId: string, hash: string) {
    const record = await this.find(appId, hash);
    return record && { record, superseded: await supersededIn(this, record) };
  }
  async useCurrent(appId: string, hash: string, interactionUid: string, at: number) {
    const pointer = await this.#latest.findOne({ _id: `${appId}:${interactionUid}`, retainUntil: { $gt: new Date() } });
    const latest = pointer?.hash;
    // A later link only supersedes while it is kept; then this one is only looked at.
    const superseded = latest !== undefined && latest !== hash && (await this.find(appId, latest)) !== undefined;
    if (!superseded) {
      // The filter is part of the atomic update: only the first caller matches `usedAt: absent`,
      // and only while the link is this attempt's and unexpired. It gets the record as it was.
      const before = await this.#links.findOneAndUpdate(
        { _id: `${appId}:${hash}`, interactionUid, usedAt: { $exists: false }, expiresAt: { $gt: at }, retainUntil: { $gt: new Date() } },
        { $set: { usedAt: at } },
        { returnDocument: 'before' },
      );
      if (before) return { record: toLink(before), superseded, used: true };
    }
    const record = await this.find(appId, hash);
    return record && { record, superseded: superseded && record.interactionUid === interactionUid, used: false };
  }
  async takeAttempt(appId: string, hash: string, max: number) {
    // The filter is part of the atomic update: a document with `max` attempts no longer
    // matches, so concurrent callers beyond `max` find nothing and get 0.
    const after = await this.#links.findOneAndUpdate(
      { _id: `${appId}:${hash}`, retainUntil: { $gt: new Date() }, $or: [{ attempts: { $exists: false } }, { attempts: { $lt: max } }] },
      { $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    return after?.attempts ?? 0;
  }
}

function toLink(doc: MagicLinkDocument): MagicLinkRecord {
  const { _id, retainUntil, ...record } = doc;
  return record;
}

export class MongoAuditStore implements AuditStore {
  readonly #events: Collection<AuditDocument>;
  constructor(events: Collection<AuditDocument>) {
    this.#events = events;
  }
  async append(record: AuditRecord, retainSeconds: number) {
    await this.#events.insertOne({ ...record, _id: record.id, retainUntil: new Date(Date.now() + retainSeconds * 1000) });
  }
  async query(trail: string, query: AuditQuery) {
    // An app's trail is its events without a `trail` of their own (the instance's are kept apart).
    const filter: Record<string, unknown> = {
      ...(trail === INSTANCE_TRAIL ? { trail } : { appId: trail, trail: { $exists: false } }),
      retainUntil: { $gt: new Date() },
    };
    if (query.type !== undefined) filter.type = query.type;
    if (query.email !== undefined) filter.email = query.email;
    const at: Record<string, number> = {};
    if (query.from !== undefined) at.$gte = query.from;
    if (query.to !== undefined) at.$lt = query.to;
    if (Object.keys(at).length) filter.at = at;
    if (query.before) {
      filter.$or = [{ at: { $lt: query.before.at } }, { at: query.before.at, _id: { $lt: query.before.id } }];
    }
    const docs = await this.#events.find(filter).sort({ at: -1, _id: -1 }).limit(query.limit).toArray();
    return docs.map(({ _id, retainUntil, ...record }) => record as AuditRecord).sort(newestFirst);
  }
}
