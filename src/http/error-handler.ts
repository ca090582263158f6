// Maps every error to a response: HttpErrors to their status and OAuth-style body (JSON for
// API callers, a page for browsers); anything else to a 500 with a reference id, details in
// the log only. Never a stack trace on the wire.
import type { Context, Middleware } from 'koa';
import { errorPage } from '../../interactions/views/pages.ts';
import type { Logger } from '../log.ts';
import { StoreUnavailableError } from '../storage/ports.ts';
import { HttpError } from './http-error.ts';
import { isAdminPath } from './request-path.ts';

function wantsHtml(ctx: Context): boolean {
  return !isAdminPath(ctx.path) && ctx.accepts('json', 'html') === 'html';
}

export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      let known: HttpError;
      if (err instanceof HttpError) known = err;
      else if (err instanceof StoreUnavailableError) {
        logger.error('store unavailable', { request_id: ctx.state.requestId, store: err.store, err: String((err as Error).cause) });
        known = new HttpError(503, 'temporarily_unavailable', 'The service is temporarily unavailable. Try again in a moment.', { 'Retry-After': '5' });
      }
      else if (typeof (err as { status?: unknown } | null)?.status === 'number' && (err as { expose?: boolean }).expose) {
        // Koa/http-errors raised by the framework itself (e.g. malformed URL encoding).
        const e = err as { status: number; message: string };
        known = new HttpError(e.status, e.status === 413 ? 'request_too_large' : 'invalid_request', e.message);
      } else if (err instanceof URIError) {
        // decodeURIComponent/encodeURIComponent on client data: bad percent-encoding or a lone surrogate.
        known = new HttpError(400, 'invalid_request', 'The request is not properly encoded (invalid percent-encoding or UTF-8).');
      } else {
        const reference = ctx.state.requestId as string;
        logger.error('unhandled error', { request_id: reference, method: ctx.method, path: ctx.path, err: (err as Error)?.stack ?? String(err) });
        known = new HttpError(500, 'server_error', `Something went wrong on our side. Reference: ${reference}.`);
      }
      ctx.status = known.status;
      // A redirect or download prepared before the failure must not go out with the error.
      ctx.remove('Location');
      ctx.remove('Content-Disposition');
      ctx.set(known.headers);
      ctx.set('Cache-Control', 'no-store');
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        ctx.body = errorPage({
          title: known.status >= 500 ? 'Something went wrong' : 'This request cannot be completed',
          message: known.description,
          reference: known.status >= 500 ? ctx.state.requestId : undefined,
        });
      } else {
        ctx.body = { error: known.code, error_description: known.description };
      }
    }
  };
}
