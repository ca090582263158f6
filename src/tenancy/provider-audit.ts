// The engine's own events (token grants, revocations, logouts, errors) in the audit trail,
// through oidc-provider's documented event emitter and middleware stack; and tokens issued
// by grant type in the metrics (the audit event does not keep the grant type).
import { registeredOpenly } from '../oidc/open-registration.ts';
import { mayReachPostOnlyRoute } from '../oidc/engine.ts';
import { revokedPresentedToken } from '../oidc/revocation-order.ts';
import type { Context, Next } from 'koa';
import { clientHungUp } from '../http/client-hung-up.ts';
import type Provider from 'oidc-provider';
import type { AuditEvent, AuditLog } from '../audit.ts';
import { requestInfo } from '../http/request-info.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';

type OidcContext = Context & {
  oidc?: { client?: { clientId: string }; route?: string; params?: Record<string, unknown>; entities?: Record<string, { accountId?: string }> };
};

function contextOf(ctx: unknown) {
  const c = ctx as OidcContext;
  return { clientId: c?.oidc?.client?.clientId, ...(c?.request ? requestInfo(c) : {}) };
}

export function auditProvider(provider: Provider, appId: string, audit: AuditLog, logger: Logger, metrics: Metrics): void {
  const record = (event: AuditEvent) => audit.record(event);
  provider.on('grant.success', (ctx) => {
    const grantType = String((ctx as OidcContext).oidc?.params?.grant_type ?? 'unknown');
    metrics.tokenIssued(appId, grantType);
    record({ type: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', outcome: 'success', appId, ...contextOf(ctx) });
  });
  provider.on('grant.error', (ctx, err) => {
    record({ type: 'token.rejected', outcome: 'failure', appId, reason: String(err.message), ...contextOf(ctx) });
  });
  provider.on('grant.revoked', (ctx) => {
    record({ type: 'grant.revoked', outcome: 'success', appId, ...contextOf(ctx) });
  });
  provider.on('authorization.error', (ctx, err) => {
    record({ type: 'authorization.rejected', outcome: 'failure', appId, reason: String(err.message), ...contextOf(ctx) });
  });
  provider.on('end_session.success', (ctx) => {
    record({ type: 'session.ended', outcome: 'success', appId, ...contextOf(ctx) });
  });
  // The engine emits no event for an RFC 7009 revocation; its route is known after the
  // handler ran, so a post-middleware records it. Revocation is POST only (A41): other
  // requests are not wrapped. Its 200 also answers a token it does not know or one of
  // another client, left alone: a failure then (throttled as every failure is), not a
  // success naming that token's account.
  const recordRevocation = async (ctx: Context, next: Next) => {
    await next();
    const oidc = (ctx as OidcContext).oidc;
    if (oidc?.route !== 'revocation' || ctx.status !== 200) return;
    if (!revokedPresentedToken(ctx)) {
      record({ type: 'token.revoked', outcome: 'failure', reason: "unknown token, or another client's", appId, ...contextOf(ctx) });
      return;
    }
    const token = oidc.entities?.RefreshToken ?? oidc.entities?.AccessToken;
    record({ type: 'token.revoked', outcome: 'success', appId, email: token?.accountId, ...contextOf(ctx) });
  };
  provider.use((ctx, next) => (mayReachPostOnlyRoute(ctx) ? recordRevocation(ctx, next) : next()));
  // Dynamic Client Registration (RFC 7591) and management (RFC 7592); the admin API's
  // changes to clients are audited by its routes, under the same types.
  const registration = (type: string) => (ctx: unknown, client: { clientId: string }) =>
    record({ type, outcome: 'success', appId, ...contextOf(ctx), clientId: client.clientId, ...(registeredOpenly(ctx) && { open: true }) });
  provider.on('registration_create.success', registration('client.registered'));
  provider.on('registration_update.success', registration('client.updated'));
  provider.on('registration_delete.success', registration('client.deleted'));
  provider.on('server_error', (ctx, err) => {
    const fields = { app_id: appId, request_id: (ctx as Context).state?.requestId, err: err.stack ?? String(err) };
    if (clientHungUp((ctx as Context).req)) logger.debug('client closed the request', fields);
    else logger.error('oidc server error', fields);
  });
}
