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

/**
 * The body of a request that passed `refuseUnreadableBody`, for Postern to look at before
 * the engine reads it: read in full, then put back with the stream's own `unshift`, so
 * the engine still reads it from the stream. Must not be called for a body already read.
 */
export function peekBody(ctx: Context): Promise<Buffer> {
  const length = declaredLength(ctx) ?? 0;
  const req = ctx.req;
  if (length === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    // Paused-mode reads, stopping once every announced byte is in: the stream has not yet
    // emitted 'end' (it cannot while the bytes are back in its buffer), so unshift is allowed.
    const onReadable = () => {
      for (let chunk: Buffer | null; size < length && (chunk = req.read() as Buffer | null) !== null; ) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (size < length) return;
      stop();
      const body = Buffer.concat(chunks, size);
      req.unshift(body);
      resolve(body);
    };
    const onEnd = () => {
      stop();
      reject(new PosternError('bad_request', 'The request body is shorter than its Content-Length.'));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    req.on('readable', onReadable);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
