// Open registration: Dynamic Client Registration (RFC 7591) without an initial access
// token, for an app whose admin enabled it with a policy (admin/open-registration-input.ts).
// Off by default: a token-less registration is then 401 invalid_token, as the engine
// answers it. When on, each token-less registration is first counted against its client
// IP, then given a value only that request carries (engine.ts, A40), which the models find
// as an initial access token naming the one registration policy (client-models.ts,
// registration.ts): the policy's hosts replace a token's, and the write that stores the
// client checks the policy again, counts the clients registered this way and refuses
// beyond max_clients (clients-service.ts), so a parallel burst cannot exceed it.
import { randomBytes } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { PosternError } from '../errors.ts';
import { requestInfo } from '../http/request-info.ts';
import { ipLimitKey } from '../ip-network.ts';
import type { AppRecord, RateLimiter } from '../storage/ports.ts';
import { engineRequest, isEngineRoute, presentOneTimeToken, unavailable } from './engine.ts';
import { REGISTRATION_PATH } from './shared-configuration.ts';

/** Token-less registrations one IP may attempt at one app per hour: a few apps' worth, never a flood of clients. */
export const OPEN_REGISTRATIONS_PER_IP = 10;
export const OPEN_REGISTRATION_WINDOW_SECONDS = 60 * 60;

/** The one-time value of each open registration being handled, by its request. */
const opened = new WeakMap<object, string>();

export interface OpenRegistrationDeps {
  readonly storedApp: () => Promise<AppRecord | undefined>;
  readonly limiter: RateLimiter;
}

/** Middleware for `provider.use`, before the engine's routes. */
export function openRegistration(deps: OpenRegistrationDeps): Middleware {
  return (ctx, next) => (isEngineRoute(ctx, ctx.path, 'POST', REGISTRATION_PATH) && ctx.get('authorization') === '' ? openly(ctx, next) : next());

  async function openly(ctx: Context, next: Next): Promise<void> {
    const app = await deps.storedApp().catch(unavailable);
    if (!app?.openRegistration) return next();
    // Per IPv4 address or IPv6 /64, as every per-client limit: one subscriber holds a whole /64.
    const client = ipLimitKey(requestInfo(ctx).ip ?? '');
    if (!(await deps.limiter.hit(`${app.id}:${client}`))) {
      throw new PosternError('rate_limited', 'Too many registrations from this address; try again later.');
    }
    const token = randomBytes(32).toString('base64url');
    opened.set(ctx, token);
    presentOneTimeToken(ctx, token);
    await next();
  }
}

/** Whether `token` is the one-time value of the open registration the engine is handling now. */
export function isOpenRegistration(token: string | undefined): boolean {
  const request = engineRequest();
  return token !== undefined && request !== undefined && opened.get(request) === token;
}

/** For the audit trail: whether the request registered its client openly. */
export function registeredOpenly(ctx: unknown): boolean {
  return typeof ctx === 'object' && ctx !== null && opened.has(ctx);
}
