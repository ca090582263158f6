import type { Clock } from '../../clock.ts';
import type { OidcPayload, OidcStore } from '../ports.ts';
import { countByModel, type Removed } from '../removed-documents.ts';
import { TtlMap } from './ttl-map.ts';

// Documents live in one TtlMap per app, keyed "Model:id". Scans for grant and account
// look-ups stay within one app, which is enough for the development store.
export class MemoryOidcStore implements OidcStore {
  readonly apps = new Map<string, TtlMap<OidcPayload>>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #app(appId: string): TtlMap<OidcPayload> {
    let map = this.apps.get(appId);
    if (!map) {
      map = new TtlMap(this.#clock);
      this.apps.set(appId, map);
    }
    return map;
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    this.#app(appId).set(`${model}:${id}`, structuredClone(payload), expiresIn);
  }

  async find(appId: string, model: string, id: string) {
    const found = this.#app(appId).get(`${model}:${id}`);
    return found && structuredClone(found);
  }

  async findByUid(appId: string, model: string, uid: string) {
    return this.#findBy(appId, model, (p) => p.uid === uid);
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    return this.#findBy(appId, model, (p) => p.userCode === userCode);
  }

  async consume(appId: string, model: string, id: string) {
    const map = this.#app(appId);
    const found = map.get(`${model}:${id}`);
    if (!found || found.consumed) return false;
    map.update(`${model}:${id}`, { ...found, consumed: Math.floor(this.#clock.now() / 1000) });
    return true;
  }

  async destroy(appId: string, model: string, id: string) {
    this.#app(appId).delete(`${model}:${id}`);
  }

  async revokeByGrantId(appId: string, model: string, grantId: string) {
    const map = this.#app(appId);
    for (const [key, payload] of map.entries()) {
      if (key.startsWith(`${model}:`) && payload.grantId === grantId) map.delete(key);
    }
  }

  async destroyByAccount(appId: string, accountId: string) {
    // No await from the first look to the last delete: atomic within this process.
    const map = this.#app(appId);
    const removed: Removed[] = [];
    const remove = (key: string, payload: OidcPayload) => {
      const colon = key.indexOf(':');
      removed.push({ model: key.slice(0, colon), id: key.slice(colon + 1), payload: structuredClone(payload) });
      map.delete(key);
    };
    const grantIds = new Set<string>();
    for (const [key, payload] of map.entries()) {
      if (payload.accountId !== accountId) continue;
      if (key.startsWith('Grant:')) grantIds.add(key.slice('Grant:'.length));
      remove(key, payload);
    }
    // Tokens that reference a removed grant go too, even if they carry no accountId.
    for (const [key, payload] of map.entries()) {
      if (payload.grantId && grantIds.has(payload.grantId)) remove(key, payload);
    }
    return countByModel(removed);
  }

  #findBy(appId: string, model: string, match: (p: OidcPayload) => boolean) {
    for (const [key, payload] of this.#app(appId).entries()) {
      if (key.startsWith(`${model}:`) && match(payload)) return structuredClone(payload);
    }
    return undefined;
  }
}
