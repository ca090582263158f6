// What Postern checks before and after a request is handed to an app's oidc-provider.
//
// The engine reads each body itself, from the request stream, up to a limit of its own
// (src/oidc/engine.ts, A1); over it, it answers a vague 400, and when no Content-Length
// announced the size it stops reading and leaves the client stuck mid-upload. So before
// the engine runs, a body it could not read well is refused, unread:
// - a Content-Length over the limit is a 413;
// - a body without Content-Length (chunked) is a 411, and the connection closes, so no
//   time goes into reading an upload of unknown size. Every mainstream OAuth client and
//   browser sends a form with its Content-Length.
//
// A path the engine has no route for falls out of it as Koa's empty 404 (engine.ts, A2);
// it becomes Postern's 404 (JSON, or a page for browsers) like every other unknown path.
import type { Context } from 'koa';
import { notFound, PosternError } from '../errors.ts';
import { ENGINE_BODY_LIMIT, engineHadNoRoute } from '../oidc/engine.ts';
import { declaredLength, tooLarge } from './read-body.ts';

/** Throws the 413 or 411 for a body the engine could not read well. */
export function refuseUnreadableBody(ctx: Context): void {
  const length = declaredLength(ctx);
  if (length !== undefined && length > ENGINE_BODY_LIMIT) throw tooLarge(ENGINE_BODY_LIMIT);
  if (length === undefined && ctx.get('transfer-encoding')) {
    throw new PosternError('length_required', 'Send the request body with a Content-Length header.', { Connection: 'close' });
  }
}

export async function guardEngine(ctx: Context, handle: () => Promise<void>): Promise<void> {
  refuseUnreadableBody(ctx);
  await handle();
  if (engineHadNoRoute(ctx)) throw notFound('No such endpoint.');
}
