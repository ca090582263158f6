// First middleware: request id, host pinning, access log, security headers.
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.ts';
import { policyAfterEngine } from '../oidc/engine.ts';
import { JWKS_MAX_AGE_SECONDS } from '../keys/key-ring.ts';

/**
 * Host pinning: whatever Host, X-Forwarded-*, Forwarded or absolute request target a
 * client sends, Koa and oidc-provider see the host and protocol of PUBLIC_URL, so issuers,
 * links and redirects cannot be steered.
 *
 * X-Forwarded-For is dropped unless TRUST_PROXY says a proxy sets it; then only its last
 * entry counts: the address the proxy itself saw. Entries to the left of it are whatever
 * the client sent and would let anyone pick their own IP (audit, rate limits).
 */
export function pinToPublicUrl(publicUrl: string, trustProxy: boolean): Middleware {
  const url = new URL(publicUrl);
  const protocol = url.protocol.slice(0, -1);
  // Not async: the request goes on with nothing to do after it (one frame fewer per request).
  return (ctx, next) => {
    const headers = ctx.req.headers;
    headers.host = url.host;
    headers['x-forwarded-host'] = url.host;
    headers['x-forwarded-proto'] = protocol;
    delete headers.forwarded;
    delete headers['x-forwarded-port'];
    delete headers['x-forwarded-prefix'];
    const forwardedFor = headers['x-forwarded-for'];
    const last = trustProxy && typeof forwardedFor === 'string' ? forwardedFor.split(',').at(-1)?.trim() : undefined;
    if (last) headers['x-forwarded-for'] = last;
    else delete headers['x-forwarded-for'];
    originForm(ctx);
    return next();
  };
}

/**
 * HTTP/1.1 servers must accept an absolute request target (`GET http://evil.example/x`),
 * and Koa then builds `ctx.href` (which oidc-provider uses for every endpoint URL it
 * prints) from that target instead of from Host. Reduce it to path and query.
 */
function originForm(ctx: Context): void {
  const target = ctx.req.url ?? '/';
  if (target.startsWith('/')) return;
  const parsed = URL.parse(target);
  const path = parsed && /^https?:$/i.test(parsed.protocol) ? `${parsed.pathname}${parsed.search}` : '/';
  ctx.req.url = path;
  ctx.originalUrl = path;
  ctx.request.originalUrl = path;
}

/** Told of every request once it is answered (the request metrics: metrics-endpoint.ts). */
export type RequestObserver = (ctx: Context, seconds: number) => void;

/**
 * Outermost: the request id, and once the request is answered its log line and then
 * `observe` (the request metrics), from one frame and one clock reading around the rest.
 */
export function requestLog(logger: Logger, observe?: RequestObserver): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    // Path only: query strings carry magic-link codes and OAuth parameters. Taken now, while
    // Koa's parse of the URL is fresh: an app's mount sets the path and back, which leaves
    // the URL to be parsed again (query string and all) by whoever asks after it.
    const path = ctx.path.slice(0, 200);
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const ms = performance.now() - started;
      logger.info('request', { request_id: requestId, method: ctx.method, path, status: ctx.status, ms });
      observe?.(ctx, ms / 1000);
    }
  };
}

/**
 * The policy every response carries. Scripts are off, except the engine's one inline
 * script on its self-submitting pages, whose hash it adds to a `script-src` it finds
 * already set (src/oidc/engine.ts, A6): so the header is set before the engine runs.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Engine routes whose answers are public documents that clients may cache. */
const CACHEABLE_ROUTES = new Set(['discovery', 'jwks']);

/** The headers every response carries as they are, whatever answered. */
function constantHeaders(https: boolean): readonly (readonly [string, string])[] {
  return [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ...(https ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as const] : []),
  ];
}

export function securityHeaders(https: boolean): Middleware {
  const always = [...constantHeaders(https), ['Content-Security-Policy', CONTENT_SECURITY_POLICY] as const];
  return async (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of always) res.setHeader(name, value);
    await next();
    if (res.headersSent) return;
    // Set again where something downstream removed or changed them (a lookup each when
    // nothing did). The engine may have added a script hash to the policy (A6).
    const policy = res.getHeader('Content-Security-Policy');
    for (const [name, value] of always) {
      if (res.getHeader(name) === value) continue;
      res.setHeader(name, name === 'Content-Security-Policy' && typeof policy === 'string' && policy ? policyAfterEngine(policy) : value);
    }
    // Sign-in pages, tokens, userinfo and admin answers must not be kept by browsers or
    // proxies. A handler that chose its own policy (the stylesheet) keeps it.
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    const cacheControl = res.getHeader('Cache-Control');
    if (isHtml(res.getHeader('Content-Type')) || (!cacheControl && !(route && CACHEABLE_ROUTES.has(route)))) {
      res.setHeader('Cache-Control', 'no-store');
    } else if (!cacheControl && ctx.status === 200) {
      // Discovery and the JWKS: fresh enough that a next key published KEY_PROPAGATION_MS
      // ago has reached every client that honours it (src/keys/key-ring.ts).
      res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    }
    // HTTP/1.0 caches know only Pragma; RFC 6749 §5.1 asks for it on token responses.
    if (res.getHeader('Cache-Control') === 'no-store') res.setHeader('Pragma', 'no-cache');
  };
}

/** What `ctx.response.is('html')` says, from the header alone: the media type (its parameters aside) is text/html. */
function isHtml(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'text/html';
}
