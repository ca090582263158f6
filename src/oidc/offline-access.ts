// OpenID Connect Core §11: an authorization request for `offline_access` is honoured only
// with `prompt=consent`, and oidc-provider drops the scope otherwise. Postern's clients are
// the app's own (first-party, no consent screen), so a request for `offline_access` is
// treated as consent being asked for; the hosted login then grants it without a screen
// (interactions/consent.ts). One rewrite for every way the parameters reach the engine
// (the query of GET /auth, also when restored from a POST by posted-request.ts, and the
// form of a pushed authorization request), done as a public pre-middleware (engine.ts,
// A9), not by patching the engine.
import type { ParsedUrlQuery } from 'node:querystring';
import { rewriteAuthorizationParameters } from './engine.ts';

/** The parameters with consent added to the prompt when offline_access is asked for without it (prompt=none stays silent). */
function offlineAccessWithConsent(params: ParsedUrlQuery): ParsedUrlQuery {
  const { scope, prompt } = params;
  if (typeof scope !== 'string' || !scope.split(' ').includes('offline_access')) return params;
  if (prompt !== undefined && typeof prompt !== 'string') return params;
  const prompts = new Set((prompt ?? '').split(' ').filter(Boolean));
  if (prompts.has('none') || prompts.has('consent')) return params;
  prompts.add('consent');
  return { ...params, prompt: [...prompts].join(' ') };
}

export const offlineAccessImpliesConsent = rewriteAuthorizationParameters(offlineAccessWithConsent);
