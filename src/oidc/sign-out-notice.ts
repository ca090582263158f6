// RP-initiated logout, and back-channel logout after it: when the person confirms signing
// out at an app, the engine ends the session (every client's part of it when the person
// signs out of everything, the asking client's part otherwise), and this tells the back
// end of each client whose part ended (logout/backchannel-logout.ts), with the sid its ID
// tokens carried. What ended is read from the engine's session before and after it ran
// (engine.ts, A19 and A20), not from the form, so a confirmation that ended nothing tells nothing. The notification is stored
// before the response leaves; the app is called afterwards, off the person's request.
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import { requestInfo } from '../http/request-info.ts';
import type { BackchannelLogout } from '../logout/backchannel-logout.ts';
import type { AppRecord } from '../storage/ports.ts';
import { confirmingSignOut, endedAtConfirmation, isSignOutConfirmation } from './engine.ts';

/** Middleware for `provider.use`: around the engine's routes. */
export function tellAppOfSignOut(provider: Provider, app: AppRecord, backchannel: BackchannelLogout): Middleware {
  // Anything but a sign-out confirmation passes at the cost of a call.
  return (ctx, next) => (isSignOutConfirmation(ctx, ctx.path) ? notifying(ctx, next) : next());

  async function notifying(ctx: Context, next: Next): Promise<void> {
    const before = await confirmingSignOut(ctx, provider);
    await next();
    const ended = before.filter((part) => endedAtConfirmation(ctx, part, part.clientId));
    if (ended.length === 0) return;
    await backchannel.sessionsEnded({
      app,
      accountId: ended[0]!.accountId,
      signedIn: ended,
      orEverySession: false,
      trigger: 'rp_logout',
      context: requestInfo(ctx),
    });
  }
}
