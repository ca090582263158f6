// First middleware: request id, host pinning, access log.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';

/**
 * Host pinning: whatever Host or X-Forwarded-* a client sends, Koa and oidc-provider see
 * the host and protocol of PUBLIC_URL, so issuers, links and redirects cannot be steered.
 * X-Forwarded-For is kept only when TRUST_PROXY says a proxy sets it.
 */
export function pinToPublicUrl(publicUrl: string, trustProxy: boolean): Middleware {
  const url = new URL(publicUrl);
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    headers.host = url.host;
    headers['x-forwarded-host'] = url.host;
    headers['x-forwarded-proto'] = url.protocol.slice(0, -1);
    if (!trustProxy) delete headers['x-forwarded-for'];
    await next();
  };
}

export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      // Path only: query strings carry magic-link codes and OAuth parameters.
      logger.info('request', {
        request_id: requestId,
        method: ctx.method,
        path: ctx.path.slice(0, 200),
        status: ctx.status,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    }
  };
}

export function securityHeaders(https: boolean): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (https) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    // The engine's form_post response auto-submits with an inline script; everything else
    // HTML is ours or the engine's logout/error pages, which need no script at all.
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    if (ctx.response.is('html') && route !== 'authorization' && route !== 'resume') {
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'");
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cache-Control', 'no-store');
    }
  };
}
