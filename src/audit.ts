// Authentication audit trail: one structured event per attempt and outcome, with its
// context (app, client, IP, user agent) and never a code, token or secret. Each event is
// written to the log and kept in the configured store for the retention period.
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from './log.ts';
import type { AuditStore } from './storage/ports.ts';

export interface AuditEvent {
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly app_id: string;
  readonly client_id?: string | undefined;
  readonly email?: string | undefined;
  readonly reason?: string | undefined;
  readonly ip?: string | undefined;
  readonly user_agent?: string | undefined;
  readonly request_id?: string | undefined;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  watchProvider(provider: Provider, appId: string): void;
}

export function requestContext(ctx: Context) {
  return {
    ip: ctx.ip,
    user_agent: ctx.get('user-agent').slice(0, 300) || undefined,
    request_id: ctx.state.requestId as string | undefined,
  };
}

export function createAuditLog(logger: Logger, store: AuditStore, retainSeconds: number): AuditLog {
  const record = (event: AuditEvent) => {
    logger.info('audit', { audit: event });
    // Off the request path: a slow or failing audit store never fails a sign-in.
    store.append({ ...event, id: randomUUID(), at: Date.now() }, retainSeconds).catch((err: unknown) => {
      logger.error('audit store write failed', { type: event.type, app_id: event.app_id, err: String(err) });
    });
  };
  const oidcCtx = (ctx: unknown) => {
    const c = ctx as Context & { oidc?: { client?: { clientId: string } } };
    return { client_id: c?.oidc?.client?.clientId, ...(c?.request ? requestContext(c) : {}) };
  };
  return {
    record,
    watchProvider(provider, appId) {
      provider.on('grant.success', (ctx) => {
        const grantType = String((ctx as Context).oidc?.params?.grant_type ?? 'unknown');
        record({ type: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', outcome: 'success', app_id: appId, ...oidcCtx(ctx) });
      });
      provider.on('grant.error', (ctx, err) => {
        record({ type: 'token.rejected', outcome: 'failure', app_id: appId, reason: String(err.message), ...oidcCtx(ctx) });
      });
      provider.on('grant.revoked', (ctx) => {
        record({ type: 'grant.revoked', outcome: 'success', app_id: appId, ...oidcCtx(ctx) });
      });
      provider.on('authorization.error', (ctx, err) => {
        record({ type: 'authorization.rejected', outcome: 'failure', app_id: appId, reason: String(err.message), ...oidcCtx(ctx) });
      });
      provider.on('end_session.success', (ctx) => {
        record({ type: 'session.ended', outcome: 'success', app_id: appId, ...oidcCtx(ctx) });
      });
      // The engine emits no event for a successful RFC 7009 revocation; its route is known
      // after the handler ran, so a post-middleware records it.
      provider.use(async (ctx, next) => {
        await next();
        const oidc = (ctx as Context & { oidc?: { route?: string; entities?: Record<string, { accountId?: string }> } }).oidc;
        if (oidc?.route !== 'revocation' || ctx.status !== 200) return;
        const token = oidc.entities?.RefreshToken ?? oidc.entities?.AccessToken;
        record({ type: 'token.revoked', outcome: 'success', app_id: appId, email: token?.accountId, ...oidcCtx(ctx) });
      });
      provider.on('server_error', (ctx, err) => {
        logger.error('oidc server error', { app_id: appId, request_id: (ctx as Context).state?.requestId, err: err.stack ?? String(err) });
      });
    },
  };
}
