// Postern's clients are the app's own, so there is no consent screen: ending a sign-in
// tells the engine who signed in and that consent is given. What the grant then holds is
// decided in one place, the engine's loadExistingGrant (src/oidc/first-party-grant.ts),
// exactly what the authorization request asked for.
import type { InteractionResults } from 'oidc-provider';

export function loginResult(accountId: string): InteractionResults {
  return { login: { accountId }, consent: {} };
}
