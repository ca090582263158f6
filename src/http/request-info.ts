// Who sent a request, as the audit trail records it: the client IP (see pinToPublicUrl
// for which proxy headers count), a bounded user agent and the request id. Limits count
// the IP through src/ip-network.ts, which reads every spelling of an address alike.
import type { Context } from 'koa';
import type { RequestInfo } from '../audit.ts';

/** Longer than any IPv6 address with a zone id; anything longer is junk anyway. */
const MAX_IP_TEXT = 100;

export function requestInfo(ctx: Context): RequestInfo {
  return {
    // Bounded like the user agent: behind TRUST_PROXY it is whatever X-Forwarded-For said.
    ip: ctx.ip.slice(0, MAX_IP_TEXT),
    userAgent: ctx.get('user-agent').slice(0, 300) || undefined,
    requestId: ctx.state.requestId as string | undefined,
  };
}
