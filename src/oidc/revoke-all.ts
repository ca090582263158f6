// "Sign out everywhere": POST {issuer}/token/revoke_all with `token` = one of the user's
// refresh or access tokens, and client authentication. Ends every grant (and so every
// refresh and access token) and every session of that user in that app, and tells the
// app's back end of each (sign-out-account.ts). Like RFC 7009, an unknown or expired token
// is not an error: there is nothing left to end.
//
// A used refresh token counts while its chain is alive: when a thief refreshed first, the
// token the user's app still holds is the spent one, and signing out everywhere with it
// must end the thief's chain too (as revoking it at RFC 7009 revocation ends its grant).
//
// The engine decides whose token it is: the request goes, as it is, to the app's own
// introspection endpoint (src/oidc/engine.ts, A11), so the client is authenticated by the
// engine's own rules and errors, exactly as at its revocation endpoint, and only a token
// issued to that client (introspection.allowedPolicy) counts. Postern only reads the form
// first, strictly as it reads every form of its own, and leaves the bytes for the engine.
import type { Context } from 'koa';
import type { AuditLog } from '../audit.ts';
import { notFound, PosternError } from '../errors.ts';
import { refuseUnreadableBody } from '../http/engine-guard.ts';
import { peekStrictForm } from '../http/read-body.ts';
import { requestInfo } from '../http/request-info.ts';
import { exactRouter } from '../http/request-path.ts';
import { appPath } from '../apps/app-paths.ts';
import type { ProviderRegistry } from '../tenancy/provider-registry.ts';
import { introspect, spentRefreshTokenAccount } from './engine.ts';
import { REVOKE_ALL_PATH } from './provider-config.ts';
import { signOutAccount, type SignOutDeps } from './sign-out-account.ts';

/**
 * RFC 6749 §5.2: a request without any client authentication is invalid_client (401), as
 * revoke_all has always answered; the engine itself would say 400 invalid_request. Any
 * request that presents some is the engine's to judge.
 */
function presentsClientAuthentication(ctx: Context, form: URLSearchParams): boolean {
  return ctx.get('authorization') !== '' || ['client_id', 'client_secret', 'client_assertion'].some((field) => form.has(field));
}

export function revokeAllRouter(deps: SignOutDeps & { registry: ProviderRegistry; audit: AuditLog }) {
  const router = exactRouter();
  router.post(`${appPath(':appId')}${REVOKE_ALL_PATH}`, async (ctx) => {
    const live = await deps.registry.get(ctx.params.appId!);
    if (!live) throw notFound('No such app.');
    refuseUnreadableBody(ctx);
    const form = await peekStrictForm(ctx);
    if (!presentsClientAuthentication(ctx, form)) throw new PosternError('invalid_client', 'Client authentication failed.');
    const answer = await introspect(ctx, appPath(live.app.id), () => live.handle(ctx, async () => {}));
    if (!answer) return; // the engine's own error answer (invalid_client, invalid_request, 503) stands
    const accountId = answer.active ? answer.accountId : answer.clientId && (await spentRefreshTokenAccount(live.provider, form.get('token') ?? '', answer.clientId));
    const removed = accountId ? await signOutAccount(deps, live.app, accountId, 'revoke_all', requestInfo(ctx)) : { grants: 0, sessions: 0 };
    deps.audit.record({
      type: 'signout.everywhere',
      outcome: accountId ? 'success' : 'failure',
      reason: accountId ? (answer.active ? undefined : 'spent refresh token of a live grant') : 'token not active for this client',
      appId: live.app.id,
      clientId: answer.clientId,
      email: accountId || undefined,
      ...requestInfo(ctx),
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { grants_revoked: removed.grants, sessions_ended: removed.sessions };
  });
  return router;
}
