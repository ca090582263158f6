// What Postern checks before and after a request is handed to an app's oidc-provider.
//
// The engine reads its own bodies with a limit of 56 KiB, but answers a body over that
// limit with a vague `400 failed to parse the request body` (and, for a chunked body, may
// leave the client stuck mid-upload). Here a body announced as too large is a 413 before
// the engine runs; a chunked body (no Content-Length) is read here, bounded, and handed to
// the engine through its documented fallback for upstream body parsers (`req.body`).
//
// A path the engine has no route for falls out of it as Koa's plain-text "Not Found";
// it becomes Postern's 404 (JSON, or a page for browsers) like every other unknown path.
import type { Context } from 'koa';
import { notFound } from './http-error.ts';
import { declaredLength, readBytes, tooLarge } from './read-body.ts';

/** oidc-provider's own body limit (lib/shared/selective_body.js). */
export const ENGINE_BODY_LIMIT = 56 * 1024;

export async function guardEngine(ctx: Context, handle: () => Promise<void>): Promise<void> {
  const length = declaredLength(ctx);
  if (length !== undefined && length > ENGINE_BODY_LIMIT) throw tooLarge(ENGINE_BODY_LIMIT);
  if (length === undefined && ctx.req.headers['transfer-encoding'] !== undefined) {
    (ctx.req as { body?: Buffer }).body = await readBytes(ctx, ENGINE_BODY_LIMIT);
  }
  await handle();
  if (ctx.status === 404 && ctx.body == null) throw notFound('No such endpoint.');
}
