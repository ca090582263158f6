// OpenID Connect Core §11: an authorization request for `offline_access` is honoured only
// with `prompt=consent`, and oidc-provider drops the scope otherwise. Postern's clients are
// the app's own (first-party, no consent screen), so a request for `offline_access` is
// treated as consent being asked for; the hosted login then grants it without a screen
// (interactions/consent.ts). Done as a public pre-middleware, not by patching the engine.
import type { Middleware } from 'koa';

export const offlineAccessImpliesConsent: Middleware = async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/auth') {
    const scope = ctx.query.scope;
    const prompt = ctx.query.prompt;
    if (typeof scope === 'string' && scope.split(' ').includes('offline_access') && (prompt === undefined || typeof prompt === 'string')) {
      const prompts = new Set((prompt ?? '').split(' ').filter(Boolean));
      if (!prompts.has('none') && !prompts.has('consent')) {
        prompts.add('consent');
        ctx.query = { ...ctx.query, prompt: [...prompts].join(' ') };
      }
    }
  }
  await next();
};
