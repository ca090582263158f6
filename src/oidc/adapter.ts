// The oidc-provider adapter, created per app: every model document is stored under the
// app id, so two apps can never read each other's sessions, codes or tokens.
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Clock } from '../clock.ts';
import type { OidcStore } from '../storage/ports.ts';
import { GRANT_MODEL, requestKeepingReadsOf, readingAtTokenEndpoint, unavailable } from './engine.ts';
import { readsOf } from './request-reads.ts';

/**
 * What the adapter needs of an app's settings (seconds): how long a used refresh token may
 * be used again, and how long a chain of refresh tokens may last in all.
 */
export interface RefreshPolicy {
  readonly reuseInterval: number;
  readonly maxLifetime: number;
}

/**
 * Reuse window. A used refresh token comes back for good reasons: two tabs refresh at
 * once, or a client retries after a lost response, a 503, or an instance that died after
 * the token was marked used but before its successor was saved. The engine treats any use
 * of a used refresh token as a replay and revokes the whole grant, which would sign the
 * user out. So for `reuseInterval` seconds after its first use (0: never), the token endpoint sees
 * the token as unused, and using it again succeeds: the engine issues another successor
 * (engine.ts, A8). Later uses are replays and revoke the grant, every chain with it: a
 * thief who refreshed first never keeps the only working chain.
 */
function withinReuseWindow(payload: AdapterPayload, policy: RefreshPolicy, now: number): boolean {
  return now - Number(payload.consumed) < policy.reuseInterval;
}

/**
 * A chain of refresh tokens ends `maxLifetime` after the sign-in that started it (`iiat`),
 * also when the app's setting was lowered after the chain began: past that, the token is
 * not found, which the engine answers with invalid_grant.
 */
function pastMaxLifetime(payload: AdapterPayload, policy: RefreshPolicy, now: number): boolean {
  return typeof payload.iiat === 'number' && now - payload.iiat >= policy.maxLifetime;
}

/** Token models that carry the id of the grant they were issued under. */
const GRANT_TOKEN_MODELS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/**
 * A second use of an authorization code revokes what the first use got (RFC 6749 §4.1.2,
 * RFC 9700 §4.2.4): the engine does so for a replay that sees the code consumed, and this
 * does it for the use that lost a concurrent race. The grant goes too, so tokens the
 * winner issues after this point are refused wherever they are used: every use of a token
 * looks its grant up (engine.ts, A12).
 */
async function revokeWhatTheCodeGranted(store: OidcStore, appId: string, codeId: string): Promise<void> {
  const grantId = (await store.find(appId, 'AuthorizationCode', codeId))?.grantId;
  if (!grantId) return;
  await Promise.all([
    store.destroy(appId, GRANT_MODEL, grantId),
    ...GRANT_TOKEN_MODELS.map((model) => store.revokeByGrantId(appId, model, grantId)),
  ]);
}

/** `onReplay`: a spent refresh token came back after its reuse window (metrics). */
export function adapterFor(store: OidcStore, appId: string, clock: Clock, policy: RefreshPolicy, onReplay: () => void) {
  const now = () => Math.floor(clock.now() / 1000); // `consumed` is set by the store, from the same clock
  const reads = readsOf(store);
  return (model: string): Adapter => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      // Counted once the write has landed (or failed, having maybe landed): a read that
      // overlapped it is read again next time (request-reads.ts).
      await store.upsert(appId, model, id, payload as Record<string, unknown>, expiresIn).catch(unavailable).finally(() => reads.wrote(model, id, payload));
    },
    async find(id: string) {
      const payload = await reads.readOnce(requestKeepingReadsOf(model), model, 'id', id, async () => (await store.find(appId, model, id).catch(unavailable)) as AdapterPayload | undefined);
      if (!payload || model !== 'RefreshToken') return payload;
      if (pastMaxLifetime(payload, policy, now())) return undefined;
      if (payload.consumed && readingAtTokenEndpoint()) {
        if (withinReuseWindow(payload, policy, now())) {
          const { consumed, ...unused } = payload;
          return unused;
        }
        // What the engine now treats as a replay, revoking the grant (engine.ts, A8).
        onReplay();
      }
      return payload;
    },
    async findByUid(uid: string) {
      return reads.readOnce(requestKeepingReadsOf(model), model, 'uid', uid, async () => (await store.findByUid(appId, model, uid).catch(unavailable)) as AdapterPayload | undefined);
    },
    async findByUserCode(userCode: string) {
      return (await store.findByUserCode(appId, model, userCode).catch(unavailable)) as AdapterPayload | undefined;
    },
    async consume(id: string) {
      if (await store.consume(appId, model, id).catch(unavailable).finally(() => reads.wrote(model, id))) return;
      // The engine checks `consumed` on the copy it read, then consumes: two concurrent
      // requests can both pass that check, and the store decided atomically that this one
      // came second. (A later use, which sees `consumed`, is the engine's own replay case.)
      if (model === 'RefreshToken') {
        // Used within the reuse window: a retry or a second tab, which may go on.
        const used = await store.find(appId, model, id).catch(unavailable);
        if (used?.consumed && withinReuseWindow(used, policy, now())) return;
        throw new errors.InvalidGrant('refresh token already used');
      }
      if (model === 'AuthorizationCode') {
        await revokeWhatTheCodeGranted(store, appId, id).catch(unavailable);
        throw new errors.InvalidGrant('authorization code already used; the tokens issued for it are revoked');
      }
      throw new errors.InvalidGrant('grant already used');
    },
    async destroy(id: string) {
      await store.destroy(appId, model, id).catch(unavailable).finally(() => reads.wrote(model, id));
    },
    async revokeByGrantId(grantId: string) {
      await store.revokeByGrantId(appId, model, grantId).catch(unavailable).finally(() => reads.wrote(model));
    },
  });
}
