// Postern's clients are the app's own, so there is no consent screen: ending a sign-in
// tells the engine who signed in and that consent is given. What the grant then holds is
// decided in one place, the engine's loadExistingGrant (src/oidc/first-party-grant.ts),
// exactly what the authorization request asked for.
import type { InteractionResults } from 'oidc-provider';

/** A person who just proved their address (link or short code): the session's sign-in time becomes now. */
export function loginResult(accountId: string): InteractionResults {
  return { login: { accountId }, consent: {} };
}

/**
 * Consent alone, for a browser whose session is signed in already (offline_access and
 * prompt=consent ask for it). No `login`: the engine would record a sign-in now
 * (session.loginAccount), which moves `auth_time` forward and lets `max_age` pass, though
 * nobody proved anything. Without it the session keeps its real sign-in time.
 */
export function consentResult(): InteractionResults {
  return { consent: {} };
}
