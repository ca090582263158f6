// The oidc-provider adapter, created per app: every model document is stored under the
// app id, so two apps can never read each other's sessions, codes or tokens.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcStore } from '../storage/ports.ts';

export function adapterFor(store: OidcStore, appId: string) {
  return (model: string): Adapter => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      await store.upsert(appId, model, id, payload as Record<string, unknown>, expiresIn);
    },
    async find(id: string) {
      return (await store.find(appId, model, id)) as AdapterPayload | undefined;
    },
    async findByUid(uid: string) {
      return (await store.findByUid(appId, model, uid)) as AdapterPayload | undefined;
    },
    async findByUserCode(userCode: string) {
      return (await store.findByUserCode(appId, model, userCode)) as AdapterPayload | undefined;
    },
    async consume(id: string) {
      await store.consume(appId, model, id);
    },
    async destroy(id: string) {
      await store.destroy(appId, model, id);
    },
    async revokeByGrantId(grantId: string) {
      await store.revokeByGrantId(appId, model, grantId);
    },
  });
}
