// OpenID Connect Core §11: an authorization request for `offline_access` is honoured only
// with `prompt=consent`, and oidc-provider drops the scope otherwise. Postern's clients are
// the app's own (first-party, no consent screen), so a request for `offline_access` is
// treated as consent being asked for; the hosted login then grants it without a screen
// (interactions/consent.ts). Done as a public pre-middleware (engine.ts, A9), not by
// patching the engine; it also applies to parameters that were posted (posted-request.ts).
import { rewriteEngineQuery } from './engine.ts';
import { AUTHORIZATION_PATH } from './shared-configuration.ts';

export const offlineAccessImpliesConsent = rewriteEngineQuery([AUTHORIZATION_PATH], (query) => {
  const { scope, prompt } = query;
  if (typeof scope !== 'string' || !scope.split(' ').includes('offline_access')) return query;
  if (prompt !== undefined && typeof prompt !== 'string') return query;
  const prompts = new Set((prompt ?? '').split(' ').filter(Boolean));
  if (prompts.has('none') || prompts.has('consent')) return query;
  prompts.add('consent');
  return { ...query, prompt: [...prompts].join(' ') };
});
