// Postern's clients are the app's own (first-party), so no one is ever asked to consent:
// whenever the session has an account, the grant of the app's client covers exactly what
// the authorization request asks for. This is the engine's documented
// `loadExistingGrant`, as in its recipe for skipping consent for first-party clients; the
// engine calls it at the authorization request and when a sign-in resumes, and without it
// a grant that is gone (its refresh token revoked, "sign out" declined) would answer
// prompt=none with consent_required although the person is signed in.
//
// offline_access is the exception (OpenID Connect Core §11): the engine keeps it in the
// request only with prompt=consent (engine.ts, A9), which always sends the browser through
// the hosted login, and it joins the grant only once that interaction has ended
// (`result.consent`, interactions/consent.ts); never silently.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { addRequestedResourceScopes } from './resource-grant.ts';

type Grant = InstanceType<KoaContextWithOIDC['oidc']['provider']['Grant']>;

const OFFLINE_ACCESS = 'offline_access';

export async function loadFirstPartyGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const accountId = oidc.account?.accountId;
  const clientId = oidc.client?.clientId;
  if (!accountId || !clientId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(clientId);
  const found = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  // Only the session's own account's grant for this client: never another's.
  const mine = found && found.accountId === accountId && found.clientId === clientId ? found : undefined;
  const grant = mine ?? new oidc.provider.Grant({ accountId, clientId });

  const scopes = new Set(oidc.requestParamOIDCScopes);
  if (!oidc.result?.consent) scopes.delete(OFFLINE_ACCESS);
  const granted = new Set(grant.getOIDCScopeEncountered().split(' '));
  const grantedClaims = new Set(grant.getOIDCClaimsEncountered());
  const missingScopes = [...scopes].filter((scope) => !granted.has(scope));
  const missingClaims = [...oidc.requestParamClaims].filter((claim) => !grantedClaims.has(claim));
  if (missingScopes.length) grant.addOIDCScope(missingScopes.join(' '));
  if (missingClaims.length) grant.addOIDCClaims(missingClaims);
  const apiScopesAdded = addRequestedResourceScopes(grant, oidc);
  if (!mine || missingScopes.length || missingClaims.length || apiScopesAdded) await grant.save();
  return grant;
}
