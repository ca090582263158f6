// Maps every error to a response: a PosternError to its kind's status and OAuth-style body
// (JSON for API callers, a page for browsers); anything else to a 500 with a reference id,
// details in the log only. Never a stack trace on the wire. Every 503 leaves with
// Retry-After, whoever answered it (the engine renders its own).
import type { Context, Middleware } from 'koa';
import { PosternError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { StoreUnavailableError } from '../storage/ports.ts';
import { CLIENT_CLOSED_REQUEST, clientHungUp } from './client-hung-up.ts';
import { isAdminRequest } from './request-path.ts';
import type { ErrorPageInput } from '../../interactions/views/pages.ts';
import { chooseLanguage, messagesFor, type Language } from '../text/language.ts';

/** Renders the HTML error page browsers get (the hosted pages' look). */
export type ErrorPage = (input: ErrorPageInput) => string;

/** Seconds a client should wait after a 503 that names no time of its own (a store outage). */
const RETRY_AFTER_SECONDS = '5';

const unavailable = () => new PosternError('unavailable', 'The service is temporarily unavailable. Try again in a moment.', { 'Retry-After': RETRY_AFTER_SECONDS });

function wantsHtml(ctx: Context): boolean {
  return !isAdminRequest(ctx) && ctx.accepts('json', 'html') === 'html';
}

/** What the caller may learn of an error; logs what it must not. */
function known(ctx: Context, err: unknown, logger: Logger): PosternError {
  if (err instanceof PosternError) return err;
  const status = (err as { status?: unknown } | null)?.status;
  // The engine's own API (e.g. interactionDetails) rethrows a store outage as its 503
  // temporarily_unavailable (engine.ts, A7), an error it marks as exposable.
  if (err instanceof StoreUnavailableError || status === 503) {
    const [store, cause] = err instanceof StoreUnavailableError ? [err.store, err.cause] : ['engine', err];
    logger.error('store unavailable', { request_id: ctx.state.requestId, store, err: String(cause) });
    return unavailable();
  }
  if (typeof status === 'number' && (err as { expose?: boolean }).expose) {
    // Koa/http-errors raised by the framework itself (e.g. malformed URL encoding).
    return new PosternError(status === 413 ? 'too_large' : 'bad_request', (err as Error).message);
  }
  if (err instanceof URIError) {
    // decodeURIComponent/encodeURIComponent on client data: bad percent-encoding or a lone surrogate.
    return new PosternError('bad_request', 'The request is not properly encoded (invalid percent-encoding or UTF-8).');
  }
  const reference = ctx.state.requestId as string;
  logger.error('unhandled error', { request_id: reference, method: ctx.method, path: ctx.path, err: (err as Error)?.stack ?? String(err) });
  return new PosternError('internal', `Something went wrong on our side. Reference: ${reference}.`);
}

/**
 * A page for a person, in the language their browser asks for: a sentence chosen by the
 * status (our descriptions are written for developers, in English), the description itself
 * folded away beneath it, and for a fault only the reference to quote.
 */
function personalErrorPage(ctx: Context, error: PosternError, errorPage: ErrorPage, unavailablePages: Map<Language, string>): string {
  const language = chooseLanguage({ acceptLanguage: ctx.get('Accept-Language') });
  const t = messagesFor(language);
  // The same page for every 503 in a language, rendered once: an overloaded server refuses
  // thousands of requests at once, and must refuse them cheaply.
  if (error.status === 503) {
    const page = unavailablePages.get(language) ?? errorPage({ title: t.somethingWrongTitle, message: t.errorUnavailable, language });
    unavailablePages.set(language, page);
    return page;
  }
  if (error.status >= 500) {
    return errorPage({ title: t.somethingWrongTitle, message: t.somethingWrong, reference: ctx.state.requestId, language });
  }
  const message = error.status === 404 ? t.errorNotFound : error.status === 429 ? t.errorRateLimited : t.errorRequest;
  return errorPage({ title: t.requestFailedTitle, message, developerDetails: error.description, language });
}

export function errorHandler(logger: Logger, errorPage: ErrorPage): Middleware {
  const unavailablePages = new Map<Language, string>();
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (clientHungUp(ctx.req)) {
        logger.debug('client closed the request', { request_id: ctx.state.requestId, method: ctx.method, path: ctx.path.slice(0, 200), err: String(err) });
        ctx.status = CLIENT_CLOSED_REQUEST;
        return;
      }
      const error = known(ctx, err, logger);
      ctx.status = error.status;
      // A redirect or download prepared before the failure must not go out with the error.
      ctx.remove('Location');
      ctx.remove('Content-Disposition');
      ctx.set(error.headers);
      ctx.set('Cache-Control', 'no-store');
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        ctx.body = personalErrorPage(ctx, error, errorPage, unavailablePages);
      } else {
        ctx.body = { error: error.code, error_description: error.description };
      }
    }
    if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', RETRY_AFTER_SECONDS);
  };
}
