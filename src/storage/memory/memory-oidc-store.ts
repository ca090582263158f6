import type { Clock } from '../../clock.ts';
import type { OidcPayload, OidcStore } from '../ports.ts';
import { countByModel, type Removed } from '../removed-documents.ts';
import { AppDocuments, docKey } from './app-documents.ts';

// Documents live in one AppDocuments per app, which indexes them: every call here is a
// constant number of map operations, plus one per document it returns or removes.
export class MemoryOidcStore implements OidcStore {
  readonly apps = new Map<string, AppDocuments>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #app(appId: string): AppDocuments {
    let docs = this.apps.get(appId);
    if (!docs) {
      docs = new AppDocuments(this.#clock);
      this.apps.set(appId, docs);
    }
    return docs;
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    this.#app(appId).set(model, id, payload, expiresIn);
  }

  async find(appId: string, model: string, id: string) {
    return this.apps.get(appId)?.get(docKey(model, id));
  }

  async findByUid(appId: string, model: string, uid: string) {
    return this.apps.get(appId)?.byUid(model, uid);
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    return this.apps.get(appId)?.byUserCode(model, userCode);
  }

  async consume(appId: string, model: string, id: string) {
    return this.apps.get(appId)?.consume(docKey(model, id), Math.floor(this.#clock.now() / 1000)) ?? false;
  }

  async destroy(appId: string, model: string, id: string) {
    this.apps.get(appId)?.delete(docKey(model, id));
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    const docs = this.apps.get(appId);
    if (!docs) return;
    for (const key of docs.keysOfGrant(grantId)) if (key.startsWith(`${model}:`)) docs.delete(key);
  }

  async destroyByAccount(appId: string, accountId: string) {
    // No await from the first look to the last delete: atomic within this process.
    const docs = this.apps.get(appId);
    const removed: Removed[] = [];
    if (!docs) return countByModel(removed);
    const remove = (key: string) => {
      const payload = docs.get(key);
      if (!payload || !docs.delete(key)) return;
      const colon = key.indexOf(':');
      removed.push({ model: key.slice(0, colon), id: key.slice(colon + 1), payload });
    };
    const keys = docs.keysOfAccount(accountId);
    const grantIds = keys.filter((key) => key.startsWith('Grant:')).map((key) => key.slice('Grant:'.length));
    for (const key of keys) remove(key);
    // Tokens that reference a removed grant go too, even if they carry no accountId.
    for (const grantId of grantIds) for (const key of docs.keysOfGrant(grantId)) remove(key);
    return countByModel(removed);
  }
}
