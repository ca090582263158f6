// The oidc-provider adapter, created per app: every model document is stored under the
// app id, so two apps can never read each other's sessions, codes or tokens.
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Clock } from '../clock.ts';
import type { OidcStore } from '../storage/ports.ts';
import { GRANT_MODEL, readingAtTokenEndpoint, unavailable } from './engine.ts';

/**
 * Refresh races: two tabs (or a retrying client) may send the same refresh token within
 * moments. The engine treats any use of a consumed refresh token as a replay and revokes
 * the whole grant, which would sign the user out. Within this window after consumption,
 * the token endpoint sees the token as not yet consumed, so the engine goes on to
 * `consume`, which fails atomically with invalid_grant and revokes nothing. Later uses
 * are real replays and revoke the grant as before. (How the engine uses a refresh token:
 * engine.ts, A8.)
 */
export const REFRESH_GRACE_SECONDS = 10;

/** `consumed` is set by the store, from the same clock. */
function withinRefreshGrace(model: string, payload: AdapterPayload | undefined, clock: Clock): boolean {
  if (model !== 'RefreshToken' || !payload?.consumed || !readingAtTokenEndpoint()) return false;
  return Math.floor(clock.now() / 1000) - Number(payload.consumed) <= REFRESH_GRACE_SECONDS;
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

export function adapterFor(store: OidcStore, appId: string, clock: Clock) {
  return (model: string): Adapter => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      await store.upsert(appId, model, id, payload as Record<string, unknown>, expiresIn).catch(unavailable);
    },
    async find(id: string) {
      const payload = (await store.find(appId, model, id).catch(unavailable)) as AdapterPayload | undefined;
      if (payload && withinRefreshGrace(model, payload, clock)) {
        const { consumed, ...unconsumed } = payload;
        return unconsumed;
      }
      return payload;
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
      // `consumed`, revokes the grant in the engine itself.) A refresh token that loses is
      // a retry within the grace window and revokes nothing; a code that loses is reuse.
      if (won) return;
      if (model === 'AuthorizationCode') {
        await revokeWhatTheCodeGranted(store, appId, id).catch(unavailable);
        throw new errors.InvalidGrant('authorization code already used; the tokens issued for it are revoked');
      }
      throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    },
    async destroy(id: string) {
      await store.destroy(appId, model, id).catch(unavailable);
    },
    async revokeByGrantId(grantId: string) {
      await store.revokeByGrantId(appId, model, grantId).catch(unavailable);
    },
  });
}
