// The oidc-provider adapter, created per app: every model document is stored under the
// app id, so two apps can never read each other's sessions, codes or tokens.
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { StoreUnavailableError, type OidcStore } from '../storage/ports.ts';

/** Store outages become the OAuth error `temporarily_unavailable` with status 503. */
export function unavailable(err: unknown): never {
  if (err instanceof StoreUnavailableError) {
    const mapped = new errors.TemporarilyUnavailable('the authorization server is temporarily unavailable, try again shortly');
    Object.assign(mapped, { status: 503, statusCode: 503 });
    throw mapped;
  }
  throw err;
}

export function adapterFor(store: OidcStore, appId: string) {
  return (model: string): Adapter => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      await store.upsert(appId, model, id, payload as Record<string, unknown>, expiresIn).catch(unavailable);
    },
    async find(id: string) {
      return (await store.find(appId, model, id).catch(unavailable)) as AdapterPayload | undefined;
    },
    async findByUid(uid: string) {
      return (await store.findByUid(appId, model, uid).catch(unavailable)) as AdapterPayload | undefined;
    },
    async findByUserCode(userCode: string) {
      return (await store.findByUserCode(appId, model, userCode).catch(unavailable)) as AdapterPayload | undefined;
    },
    async consume(id: string) {
      const won = await store.consume(appId, model, id).catch(unavailable);
      // The engine checks `consumed` on the copy it read, then consumes: two concurrent
      // requests can both pass that check. The store decides atomically which one wins;
      // the other fails here, before any token is issued. (A later replay, which sees
      // `consumed`, still revokes the grant in the engine itself.)
      if (!won) throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    },
    async destroy(id: string) {
      await store.destroy(appId, model, id).catch(unavailable);
    },
    async revokeByGrantId(grantId: string) {
      await store.revokeByGrantId(appId, model, grantId).catch(unavailable);
    },
  });
}
