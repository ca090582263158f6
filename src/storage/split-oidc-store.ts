// With both Redis and MongoDB: durable oidc-provider models go to MongoDB, short-lived
// ones (sessions, interactions, codes, access tokens, replay detection, …) to Redis.
import { IncompleteRemovalError, StoreUnavailableError, type OidcPayload, type OidcStore } from './ports.ts';
import { addRemoved } from './removed-documents.ts';

export const DURABLE_MODELS: ReadonlySet<string> = new Set([
  'Grant',
  'RefreshToken',
  'Client',
  'RegistrationAccessToken',
  'InitialAccessToken',
]);

export class SplitOidcStore implements OidcStore {
  readonly #durable: OidcStore;
  readonly #fast: OidcStore;
  constructor(durable: OidcStore, fast: OidcStore) {
    this.#durable = durable;
    this.#fast = fast;
  }
  #for(model: string): OidcStore {
    return DURABLE_MODELS.has(model) ? this.#durable : this.#fast;
  }
  upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    return this.#for(model).upsert(appId, model, id, payload, expiresIn);
  }
  find(appId: string, model: string, id: string) {
    return this.#for(model).find(appId, model, id);
  }
  findByUid(appId: string, model: string, uid: string) {
    return this.#for(model).findByUid(appId, model, uid);
  }
  findByUserCode(appId: string, model: string, userCode: string) {
    return this.#for(model).findByUserCode(appId, model, userCode);
  }
  consume(appId: string, model: string, id: string) {
    return this.#for(model).consume(appId, model, id);
  }
  destroy(appId: string, model: string, id: string) {
    return this.#for(model).destroy(appId, model, id);
  }
  revokeByGrantId(appId: string, model: string, grantId: string) {
    return this.#for(model).revokeByGrantId(appId, model, grantId);
  }
  async destroyByAccount(appId: string, accountId: string) {
    // Grants live in MongoDB; tokens of those grants in Redis carry the accountId too. Redis
    // first, then MongoDB, not both at once: when Redis fails, the grants and refresh tokens
    // are still there, and a retry of a sign-out everywhere (which presents a refresh token)
    // still finds what it signs out with and finishes. Both at once, MongoDB's half could
    // land alone, leaving the sessions signed in and nothing to retry with.
    const fast = await this.#fast.destroyByAccount(appId, accountId);
    try {
      return addRemoved(await this.#durable.destroyByAccount(appId, accountId), fast);
    } catch (err) {
      // The sessions are gone already: their clients must still hear of it.
      throw err instanceof StoreUnavailableError ? new IncompleteRemovalError(fast, err) : err;
    }
  }
}
