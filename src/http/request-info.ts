// Who sent a request, as the audit trail records it: the client IP (see pinToPublicUrl
// for which proxy headers count), a bounded user agent and the request id.
import type { Context } from 'koa';
import type { RequestInfo } from '../audit.ts';

export function requestInfo(ctx: Context): RequestInfo {
  return {
    ip: ctx.ip,
    userAgent: ctx.get('user-agent').slice(0, 300) || undefined,
    requestId: ctx.state.requestId as string | undefined,
  };
}
