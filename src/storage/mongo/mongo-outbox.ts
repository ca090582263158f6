// An outbox in MongoDB, one collection per outbox: one document per message, `dueAt`
// indexed. Each claim is a findOneAndUpdate that moves `dueAt` to the lease end, atomic
// per document, so of several instances asking at once each due message goes to exactly one.
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { Outbox, OutboxClaim, OutboxEntry, OutboxLease } from '../ports.ts';

export interface OutboxDocument {
  _id: string;
  sealed: string;
  attempts: number;
  dueAt: number; // epoch ms
  claim?: string;
}

export async function createOutboxIndexes(outbox: Collection<OutboxDocument>): Promise<void> {
  await outbox.createIndex({ dueAt: 1 }, { name: 'due' });
}

export class MongoOutbox implements Outbox {
  readonly durable = true;
  readonly #outbox: Collection<OutboxDocument>;

  constructor(outbox: Collection<OutboxDocument>) {
    this.#outbox = outbox;
  }

  async add(id: string, sealed: string, dueAt: number, lease?: OutboxLease) {
    await this.#outbox.insertOne(lease ? { _id: id, sealed, attempts: 1, dueAt: lease.until, claim: lease.claim } : { _id: id, sealed, attempts: 0, dueAt });
  }

  async claim(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim> {
    const claim = randomUUID();
    const claimed: OutboxEntry[] = [];
    while (claimed.length < limit) {
      const doc = await this.#outbox.findOneAndUpdate(
        { dueAt: { $lte: now } },
        { $set: { dueAt: leaseUntil, claim }, $inc: { attempts: 1 } },
        { sort: { dueAt: 1 }, returnDocument: 'after' },
      );
      if (!doc) break;
      claimed.push({ id: doc._id, sealed: doc.sealed, attempts: doc.attempts, claim });
    }
    return { entries: claimed, nextDue: await this.nextDue() };
  }

  async reschedule(id: string, claim: string, dueAt: number) {
    return (await this.#outbox.updateOne({ _id: id, claim }, { $set: { dueAt }, $unset: { claim: '' } })).modifiedCount === 1;
  }

  async remove(id: string) {
    await this.#outbox.deleteOne({ _id: id });
  }

  async size() {
    return this.#outbox.countDocuments({});
  }

  async nextDue() {
    const first = await this.#outbox.findOne({}, { sort: { dueAt: 1 }, projection: { dueAt: 1 } });
    return first?.dueAt;
  }
}
